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

/** One JSON-RPC call to the server at `url`; a XenAPI error is thrown with its code and parameters. */
export async function rpc(url: string, method: string, ...params: unknown[]): Promise<any> {
  const res = await fetch(`${url}/jsonrpc`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
  });
  const j = (await res.json()) as { result?: unknown; error?: { message: string; data: unknown } };
  if (j.error) throw new Error(`${method}: ${j.error.message} ${JSON.stringify(j.error.data)}`);
  return j.result;
}

export interface BenchServerOptions {
  /** Options for the server's node (a profiler, say). */
  readonly nodeArgs?: readonly string[];
  /** The server's log on the bench's stderr (default: dropped). */
  readonly showLog?: boolean;
}

/** Starts the server of the checkout at `root` on `dataDir`. */
export async function startBenchServer(root: string, dataDir: string, password: string, opts: BenchServerOptions = {}): Promise<BenchServer> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(root, 'bin', 'islet'), 'server', '--data-dir', dataDir, '--listen', '127.0.0.1:0',
    '--root-password', password, '--spawn-hypervisor', 'false'], { stdio: ['ignore', 'pipe', opts.showLog ? 'inherit' : 'ignore'] });
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
    const call = (method: string, ...params: unknown[]) => rpc(url, method, ...params);
    const session = await call('session.login_with_password', 'root', password, '1.1', 'bench');
    const [pool] = await call('pool.get_all', session);
    const defaultSr = await call('pool.get_default_SR', session, pool);
    return { url, process: child, session, pool, defaultSr, rpc: call, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
