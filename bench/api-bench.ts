/**
 * @module
 * API throughput: JSON-RPC `host.get_record` calls per second with 16 concurrent
 * keep-alive connections against a real `islet server`, beside a bare `node:http` server
 * answering a fixed JSON body of the same size under the same load. Goal: ratio >= 0.5.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedLoop } from './load.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

function waitReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (c) => reject(new Error(`exited ${c}`)));
  });
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(`${url}/jsonrpc`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
  });
  const j = (await res.json()) as { result?: unknown; error?: unknown };
  if (j.error) throw new Error(JSON.stringify(j.error));
  return j.result;
}

export async function run(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const dir = await mkdtemp(join(tmpdir(), 'islet-bench-'));
  const islet = spawn(process.execPath, [join(root, 'bin', 'islet'), 'server', '--data-dir', dir, '--listen', '127.0.0.1:0', '--root-password', 'bench',
    // No VM runs here: no hypervisor process to leave behind.
    '--spawn-hypervisor', 'false'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let bare: ChildProcess | undefined;
  try {
    const url = await waitReady(islet);
    const session = await rpc(url, 'session.login_with_password', ['root', 'bench', '1.1', 'bench']);
    const [host] = (await rpc(url, 'host.get_all', [session])) as string[];
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'host.get_record', params: [session, host], id: 1 });
    const fixed = JSON.stringify({ jsonrpc: '2.0', result: await rpc(url, 'host.get_record', [session, host]), id: 1 });
    const bareSrc = `const b=${JSON.stringify(fixed)};require('http').createServer((q,s)=>{const c=[];q.on('data',d=>c.push(d));q.on('end',()=>{s.writeHead(200,{'content-type':'application/json','content-length':Buffer.byteLength(b)});s.end(b)})}).listen(0,'127.0.0.1',function(){console.log('ready http://127.0.0.1:'+this.address().port)})`;
    bare = spawn(process.execPath, ['-e', bareSrc], { stdio: ['ignore', 'pipe', 'inherit'] });
    const bareUrl = await waitReady(bare);
    const ok = (s: number, t: string) => s === 200 && t.includes('"result"');
    const opts = { connections: 16, seconds, check: ok };
    await closedLoop(`${url}/jsonrpc`, () => body, { ...opts, seconds: 1 }); // warm-up
    await closedLoop(`${bareUrl}/`, () => body, { ...opts, seconds: 1 });
    const rounds = [];
    for (let i = 0; i < 2; i++) {
      const a = await closedLoop(`${url}/jsonrpc`, () => body, opts);
      const b = await closedLoop(`${bareUrl}/`, () => body, opts);
      rounds.push({ islet: a.perSecond, bare: b.perSecond, errors: a.errors + b.errors });
    }
    const islet_ = rounds.reduce((s, r) => s + r.islet, 0) / rounds.length;
    const bare_ = rounds.reduce((s, r) => s + r.bare, 0) / rounds.length;
    console.log(`api: host.get_record over JSON-RPC, 16 keep-alive connections, ${seconds}s x ${rounds.length} rounds`);
    console.log(`  islet        ${islet_.toFixed(0)} calls/s`);
    console.log(`  bare node:http ${bare_.toFixed(0)} req/s (fixed body of the same size)`);
    console.log(`  ratio        ${(islet_ / bare_).toFixed(2)}  (goal >= 0.50)  errors: ${rounds.reduce((s, r) => s + r.errors, 0)}`);
  } finally {
    // The server's data directory goes only once it has exited: its stop still writes there
    // (the local SR's lock), and removing it under a stopping server failed that stop.
    const exited = islet.exitCode === null && islet.signalCode === null ? new Promise((r) => islet.once('exit', r)) : undefined;
    islet.kill('SIGTERM');
    bare?.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}
