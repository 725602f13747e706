/**
 * Xen Orchestra's own XenAPI client (npm `xen-api`) logged in as XO logs in: over TLS
 * (a plain `http:` URL is turned into `https:` on the same port, which serves both),
 * accepting the server's self-signed certificate, events applied at once (no debounce),
 * and every object loaded through its event.from cache before the test goes on. The
 * connection and the first load each fail with a message if they do not finish in time.
 */
// @ts-expect-error xen-api ships no types
import { createClient } from 'xen-api';

const CONNECT_MS = 60_000;

function within<T>(p: Promise<T>, what: string, ms = CONNECT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`xen-api client: ${what} did not finish in ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A connected xen-api client with every object of the server loaded; `disconnect()` it after. */
export async function connectXenOrchestra(url: string, password: string): Promise<any> {
  const xapi = createClient({
    url: url.replace(/^http:/, 'https:'),
    auth: { user: 'root', password },
    allowUnauthorized: true,
    debounce: 0,
  });
  await within(xapi.connect(), `connect to ${url}`);
  await within(xapi.objectsFetched, 'loading every object');
  return xapi;
}
