/**
 * @module
 * `xe-toolstack-restart`: restarts one host's toolstack, as XenServer's command of that
 * name does on the host it runs on, and waits until the new toolstack answers. Run on
 * the host (`--data-dir <host's data directory>`, or `ISLET_DATA_DIR`) it logs in with
 * that host's own pool credential; pointed at a host (`-s HOST -p PORT -u USER -pw PASS`) it logs in
 * locally on that host (`session.slave_local_login_with_password`, which members accept
 * too). Running VMs are not touched: only the toolstack process is replaced.
 */
import { readFileSync } from 'node:fs';
import { XapiCallError } from '../../client/xapi-call-error.js';
import { parseHostPort, peerUrl } from '../host-address.js';
import { PeerClient, PeerUnreachable } from '../peer-client.js';
import { loadHostCredential, readApiAddress } from '../pool-conf.js';

interface Target {
  readonly url: string;
  login(c: PeerClient): Promise<string>;
}

function usage(): never {
  throw new Error('usage: xe-toolstack-restart [--data-dir HOSTDIR] | [-s HOST] [-p PORT] [-u USER] [-pw PASS | -pwf FILE] [--timeout SECONDS]');
}

function parse(argv: string[]): { target: Target; timeoutMs: number } {
  const f: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^(--data-dir|-s|-h|-p|-u|-pw|-pwf|--timeout)$/.exec(a);
    if (!m || argv[i + 1] === undefined) usage();
    f[a.replace(/^-+/, '')] = argv[++i]!;
  }
  const timeoutMs = (Number(f.timeout) || 180) * 1000;
  const dataDir = f['data-dir'] ?? (f.s || f.h ? undefined : process.env.ISLET_DATA_DIR);
  if (dataDir) {
    const at = readApiAddress(dataDir);
    if (!at) throw new Error(`${dataDir} has no api-address: is a toolstack running there?`);
    const cred = loadHostCredential(dataDir);
    if (!cred) throw new Error(`${dataDir} has no pool credential (pool-credential): is it a host's data directory?`);
    return {
      timeoutMs,
      target: { url: peerUrl(at), login: async (c) => String(await c.rawCall('session.islet_pool_login', [cred.hostUuid, cred.token])) },
    };
  }
  const host = f.s ?? f.h ?? process.env.XE_HOST ?? 'localhost';
  const port = Number(f.p ?? process.env.XE_PORT ?? 443);
  const user = f.u ?? process.env.XE_USERNAME ?? 'root';
  const pw = f.pw ?? (f.pwf ? readFileSync(f.pwf, 'utf8').split('\n')[0]! : process.env.XE_PASSWORD ?? '');
  return {
    timeoutMs,
    target: {
      url: peerUrl(parseHostPort(`${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`, port)),
      login: async (c) => String(await c.rawCall('session.slave_local_login_with_password', [user, pw])),
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function toolstackRestart(argv: string[], out: (l: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const { target, timeoutMs } = parsed;
  const c = new PeerClient({ url: target.url, credential: () => undefined, timeoutMs: 15_000, connectTimeoutMs: 3000 });
  const deadline = Date.now() + timeoutMs;
  try {
    out('Executing xe-toolstack-restart');
    const session = await target.login(c);
    const host = String(await c.rawCall('session.get_this_host', [session, session]));
    await c.rawCall('host.restart_agent', [session, host]);
    out('Stopping the toolstack...');
    // The old process is gone once its sessions are.
    for (;;) {
      if (Date.now() > deadline) throw new Error('the toolstack did not stop');
      try {
        await c.rawCall('session.get_this_host', [session, session]);
      } catch (e) {
        if (e instanceof PeerUnreachable || (e instanceof XapiCallError && e.code === 'SESSION_INVALID')) break;
        throw e;
      }
      await sleep(100);
    }
    out('Starting the toolstack...');
    for (;;) {
      if (Date.now() > deadline) throw new Error(`the toolstack at ${target.url} did not come back`);
      c.failAll('retry');
      try {
        const s = await target.login(c);
        await c.rawCall('session.logout', [s]).catch(() => undefined);
        break;
      } catch (e) {
        if (!(e instanceof PeerUnreachable)) throw e;
      }
      await sleep(250);
    }
    out('done.');
    return 0;
  } catch (e) {
    process.stderr.write(`xe-toolstack-restart: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    c.close();
  }
}

