/**
 * @module
 * What the supervisor does the first time it brings a pool up, through the XenAPI as an
 * administrator would: every other host joins the first one (`pool.join`), then a `file`
 * SR in a directory all hosts reach is created as shared and made the pool's default SR.
 */
import { XapiClient } from '../../client/xapi-client.js';
import { formatHostPort, type HostPort } from '../host-address.js';

export interface JoinPlan {
  readonly url: string;
  readonly index: number;
}

async function withClient<T>(url: string, password: string, fn: (c: XapiClient) => Promise<T>): Promise<T> {
  const c = new XapiClient({ url });
  try {
    await c.login('root', password, { originator: 'islet-pool-supervisor' });
    try {
      return await fn(c);
    } finally {
      await c.logout().catch(() => undefined);
    }
  } finally {
    c.close();
  }
}

export async function joinHost(member: JoinPlan, master: HostPort, password: string): Promise<void> {
  await withClient(member.url, password, (c) => c.call('pool.join', formatHostPort(master), 'root', password));
}

/**
 * Creates the shared SR at `path` on the master and makes it the default SR; returns its
 * uuid, or throws when the storage layer cannot (no `file` driver on this build).
 */
export async function createSharedSr(masterUrl: string, password: string, path: string): Promise<string> {
  return withClient(masterUrl, password, async (c) => {
    const pools = (await c.call('pool.get_all')) as string[];
    const pool = pools[0]!;
    const master = String(await c.call('pool.get_master', pool));
    const sr = String(await c.call(
      'SR.create', master, { path }, 0, 'Shared storage', 'Pool-wide file SR, reached by every host', 'file', 'user', true, {},
    ));
    await c.call('pool.set_default_SR', pool, sr);
    await c.call('pool.set_suspend_image_SR', pool, sr).catch(() => undefined);
    return String(await c.call('SR.get_uuid', sr));
  });
}

/** The URL of whichever host the pool's master is, asking a host that answers. */
export async function findMasterUrl(urls: readonly string[], password: string): Promise<string | undefined> {
  for (const url of urls) {
    const c = new XapiClient({ url });
    try {
      await c.login('root', password, { originator: 'islet-pool-supervisor' });
      const found = c.url;
      await c.logout().catch(() => undefined);
      return found;
    } catch {
      // try the next host
    } finally {
      c.close();
    }
  }
  return undefined;
}
