/**
 * @module
 * A real `islet server` for a bench: its own process on a free loopback port, no hypervisor
 * (no VM runs in a bench, so none is left behind), and a logged-in root session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface BenchServer {
  readonly url: string;
  readonly process: ChildProcess;
  /** A root session. */
  readonly session: string;
  readonly pool: string;
  readonly defaultSr: string;
  /** A JSON-RPC call; a XenAPI error is thrown with its code and parameters. */
  rpc(method: string, ...params: unknown[]): Promise<any>;
  stop(): Promise<void>;
}

export async function rpcCall(url: string, method: string, ...params: unknown[]): Promise<any> {
  const res = await fetch(`${url}/jsonrpc`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
  });
  const j = (await res.json()) as { result?: unknown; error?: { message: string; data: unknown } };
  if (j.error) throw new Error(`${method}: ${j.error.message} ${JSON.stringify(j.error.data)}`);
  return j.result;
}

/** Starts the server of the checkout at `root` on `dataDir`; `nodeArgs` go to its node. */
export async function startBenchServer(root: string, dataDir: string, password: string, nodeArgs: readonly string[] = []): Promise<BenchServer> {
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin', 'islet'), 'server', '--data-dir', dataDir, '--listen', '127.0.0.1:0',
    '--root-password', password, '--spawn-hypervisor', 'false'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const stop = (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const t = setTimeout(() => reject(new Error('islet server did not start in 60 s')), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /^ready (\S+)$/m.exec(buf);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.once('exit', (c) => {
        clearTimeout(t);
        reject(new Error(`islet exited ${c}`));
      });
    });
    const rpc = (method: string, ...params: unknown[]) => rpcCall(url, method, ...params);
    const session = await rpc('session.login_with_password', 'root', password, '1.1', 'bench');
    const [pool] = await rpc('pool.get_all', session);
    const defaultSr = await rpc('pool.get_default_SR', session, pool);
    return { url, process: child, session, pool, defaultSr, rpc, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
