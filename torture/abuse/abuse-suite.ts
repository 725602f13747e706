/**
 * @module
 * The abuse suite: the probes a hostile or clumsy client would try, against one real
 * server (in its own mount namespace, see abuse-server.ts) on loopback: connection abuse
 * (slow headers, idle sockets, half-sent bodies, idle keep-alive, one peer's flood of
 * connections), a login flood and login timing, hostile SR paths, and a pool-operator
 * reaching for pool-internal power. Each probe prints its outcome; the suite fails on any
 * behaviour the security posture forbids.
 */
import { RpcClient } from '../rpc-client.js';
import { SuiteRecorder, type SuiteResult } from '../suite-result.js';
import { startAbuseServer } from './abuse-server.js';
import { escalationProbes } from './escalation-probes.js';
import { loginProbes } from './login-probes.js';
import { srPathProbes } from './sr-path-probes.js';
import { socketProbes, type SocketBounds } from './socket-probes.js';

export interface AbuseOptions extends SocketBounds {
  /** Unknown-user failures in the login flood. */
  loginFlood: number;
  /** Extra environment and arguments for the server (shorter timeouts for a short run). */
  serverEnv?: Record<string, string>;
  serverArgs?: string[];
  /** Run only these groups: sockets, login, paths, escalation. */
  only?: string[];
}

export async function runAbuse(o: AbuseOptions): Promise<SuiteResult> {
  const rec = new SuiteRecorder('abuse');
  const srv = await startAbuseServer({ env: o.serverEnv, args: o.serverArgs });
  const api = new RpcClient(srv.url, 'json', '127.0.0.1', 30_000);
  const want = (g: string) => !o.only || o.only.includes(g);
  let probes = 0;
  try {
    rec.figure('server', `bin/islet server on ${srv.url} (own mount namespace, /etc a copy)`);
    const login = await api.call('session.login_with_password', ['root', srv.rootPassword, '1.1', 'abuse']);
    if (!login.ok) throw new Error(`root cannot log in: ${login.transport ?? login.error.join(' ')}`);
    const root = String(login.value);
    if (want('escalation')) probes += await escalationProbes(rec, api, root, srv.rootPassword);
    if (want('paths')) probes += await srPathProbes(rec, srv, api, root);
    if (want('sockets') && srv.alive()) probes += await socketProbes(rec, srv.port, srv.url, srv.rootPassword, o);
    if (want('login') && srv.alive()) probes += await loginProbes(rec, srv.url, api, root, o.loginFlood);
    rec.check(srv.alive(), `the server died: ${srv.stderr().slice(-400)}`);
    rec.figure('probes', probes);
  } finally {
    api.close();
    await srv.stop();
  }
  return rec.result();
}
