/**
 * @module
 * The load suite: `clients` concurrent XenAPI clients (half JSON-RPC, half XML-RPC, one in
 * five an `event.from` watcher) against a real `bin/islet server` for `seconds`. Each
 * worker loops over reads of every size, a write that the watchers must see, and a call
 * with a bad reference whose `HANDLE_INVALID` is the one error the suite declares; any
 * other error, any HTTP or socket failure, is a failure. It reports requests, p50/p99
 * latency (watchers' long polls aside) and the server's RSS at start, after warm-up and at
 * the end. Raw RSS under load includes garbage V8 has not collected yet: its old space
 * fills with promoted request garbage until the first full collection, which comes after
 * some 17,000 requests, later in wall time the busier the machine. So the judgement is on
 * what the server keeps: at the end of warm-up and 2 s before the end, the suite has the
 * server's memory probe (memory-probe.ts) run full collections and read RSS, and that RSS
 * may grow at most `rssGrowth` (10 %) between the two on runs long enough to mean it.
 * Clients spread over loopback source addresses 127.0.0.2… so a per-peer connection cap
 * meant for one hostile peer does not turn 200 honest clients away.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startIslet, type IsletProcess } from '../test/helpers/islet-server.js';
import { RpcClient, type CallOutcome, type Protocol } from './rpc-client.js';
import { SuiteRecorder, percentile, type SuiteResult } from './suite-result.js';
import { completeRecord } from '../src/client/create-record.js';

export interface LoadOptions {
  clients: number;
  seconds: number;
  /** Allowed growth of the RSS the server keeps after a full GC, warm-up to end; checked when `seconds >= 20`. */
  rssGrowth?: number;
  /** Seconds of load before the first memory probe; default 10 (15 % of shorter runs). */
  warmupSeconds?: number;
  vms?: number;
}

/** What the server keeps after full garbage collections (see memory-probe.ts). */
interface Retained {
  rss: number;
  heapUsed: number;
  external: number;
}

const PASSWORD = 'torture-load-pw';
const BOGUS = 'OpaqueRef:00000000-0000-0000-0000-00000000dead';
const MiB = 1024 * 1024;

async function rssOf(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals the server's memory probe and waits (30 s at most) for its `n`th answer. */
async function retained(islet: IsletProcess, n: number): Promise<Retained> {
  process.kill(islet.child.pid!, 'SIGUSR2');
  const line = new RegExp(`^islet-memory-probe ${n} (\\{.*\\})$`, 'm');
  for (let waited = 0; waited < 30_000; waited += 50) {
    const m = line.exec(islet.stderr());
    if (m) {
      const v = JSON.parse(m[1]!) as Partial<Retained> & { noGc?: boolean };
      if (v.noGc || v.rss === undefined) throw new Error('the memory probe has no gc(): the server was started without --expose-gc');
      return { rss: v.rss, heapUsed: v.heapUsed!, external: v.external! };
    }
    await sleep(50);
  }
  throw new Error(`the server's memory probe gave no answer ${n} within 30 s`);
}

export async function runLoad(o: LoadOptions): Promise<SuiteResult> {
  const rec = new SuiteRecorder('load');
  const probe = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
  const islet = await startIslet({
    rootPassword: PASSWORD, args: ['--spawn-hypervisor', 'false'], nodeArgs: ['--expose-gc', '--import', probe],
  });
  const clients: RpcClient[] = [];
  try {
    const admin = new RpcClient(islet.url, 'json');
    clients.push(admin);
    const must = async (method: string, params: unknown[]): Promise<any> => {
      const r = await admin.call(method, params);
      if (!r.ok) throw new Error(`${method}: ${r.error.join(' ')} ${r.transport ?? ''}`);
      return r.value;
    };
    const root = await must('session.login_with_password', ['root', PASSWORD, '1.1', 'torture-load']);
    const vms: string[] = [];
    for (let i = 0; i < (o.vms ?? 20); i++) {
      vms.push(await must('VM.create', [root, completeRecord('VM', {
        name_label: `load-${i}`, name_description: '', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB,
        memory_dynamic_min: 256 * MiB, memory_static_min: 256 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1,
        actions_after_reboot: 'restart', actions_after_shutdown: 'destroy', actions_after_crash: 'restart',
      })]));
    }

    const stats = { requests: 0, declared: 0, json: 0, xml: 0, writes: 0, eventCalls: 0, eventsSeen: 0, latencies: [] as number[] };
    const undeclared = new Map<string, number>();
    const fail = (what: string, r: CallOutcome & { ok: false }) => {
      const key = `${what}: ${r.transport ?? r.error.join(' ')}`.slice(0, 300);
      undeclared.set(key, (undeclared.get(key) ?? 0) + 1);
    };

    // Log every client in before the clock starts; 8 at a time, as a busy morning would.
    const kinds: Array<{ protocol: Protocol; watcher: boolean }> = Array.from({ length: o.clients }, (_, i) => ({
      protocol: i % 2 === 0 ? 'json' : 'xml', watcher: i % 10 === 3 || i % 10 === 8,
    }));
    const sessions: string[] = new Array(o.clients);
    for (let i = 0; i < o.clients; i++) {
      clients.push(new RpcClient(islet.url, kinds[i]!.protocol, `127.0.0.${2 + (i % 50)}`));
    }
    const workers = clients.slice(1);
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = next++; i < o.clients; i = next++) {
        const r = await workers[i]!.call('session.login_with_password', ['root', PASSWORD, '1.1', `torture-load-${i}`]);
        if (!r.ok) throw new Error(`client ${i} could not log in: ${r.error.join(' ')} ${r.transport ?? ''}`);
        sessions[i] = String(r.value);
      }
    }));

    const start = performance.now();
    const deadline = start + o.seconds * 1000;
    const pollSeconds = Math.max(1, Math.min(5, Math.floor(o.seconds / 4)));
    const watcher = async (i: number) => {
      const c = workers[i]!;
      let token = '';
      while (performance.now() < deadline) {
        const r = await c.call('event.from', [sessions[i], ['VM'], token, pollSeconds]);
        stats.eventCalls++;
        if (!r.ok) { fail(`event.from (${c.protocol})`, r); await sleep(100); continue; }
        const v = r.value as { events?: unknown[]; token?: string };
        if (!Array.isArray(v.events) || typeof v.token !== 'string') {
          fail(`event.from (${c.protocol})`, { ok: false, error: [], transport: 'answer without events/token', ms: r.ms });
          continue;
        }
        if (token !== '') stats.eventsSeen += v.events.length;
        token = v.token;
      }
    };
    const caller = async (i: number) => {
      const c = workers[i]!;
      const s = sessions[i]!;
      let n = i;
      while (performance.now() < deadline) {
        const vm = vms[n % vms.length]!;
        const step = n++ % 9;
        let r: CallOutcome;
        let expected: string | undefined;
        switch (step) {
          case 0: r = await c.call('VM.get_all_records', [s]); break;
          case 1: r = await c.call('host.get_all_records', [s]); break;
          case 2: r = await c.call('session.get_this_host', [s, s]); break;
          case 3: r = await c.call('VM.get_record', [s, vm]); break;
          case 4: r = await c.call('SR.get_all_records', [s]); break;
          case 5: r = await c.call('pool.get_all_records', [s]); break;
          case 6: r = await c.call('VM.set_name_description', [s, vm, `written by client ${i} at ${n}`]); stats.writes++; break;
          case 7: r = await c.call('VM.get_record', [s, BOGUS]); expected = 'HANDLE_INVALID'; break;
          default: r = await c.call('VM.get_power_state', [s, vm]); break;
        }
        stats.requests++;
        stats[c.protocol]++;
        stats.latencies.push(r.ms);
        if (expected) {
          if (!r.ok && r.error[0] === expected) stats.declared++;
          else fail(`${step} (${c.protocol}) expected ${expected}`, r.ok ? { ok: false, error: ['succeeded'], ms: r.ms } : r);
        } else if (!r.ok) {
          fail(`call ${step} (${c.protocol})`, r);
        }
      }
    };

    const pid = islet.child.pid!;
    const rss: number[] = [];
    const rssStart = await rssOf(pid);
    const warmupMs = (o.warmupSeconds ?? Math.min(10, o.seconds * 0.15)) * 1000;
    const endProbeMs = Math.max(warmupMs, o.seconds * 1000 - 2000);
    let rssWarm = NaN;
    let rssEnd = NaN;
    let kept: { warm?: Retained; end?: Retained } = {};
    const sampler = (async () => {
      let probed = 0;
      while (performance.now() < deadline) {
        await sleep(Math.max(0, Math.min(1000, deadline - performance.now())));
        rss.push(await rssOf(pid));
        const t = performance.now() - start;
        if (probed === 0 && t >= warmupMs) {
          rssWarm = rss[rss.length - 1]!;
          kept = { warm: await retained(islet, ++probed) };
        } else if (probed === 1 && t >= endProbeMs) {
          rssEnd = rss[rss.length - 1]!;
          kept.end = await retained(islet, ++probed);
        }
      }
    })();
    await Promise.all([...workers.map((_, i) => (kinds[i]!.watcher ? watcher(i) : caller(i))), sampler]);
    const elapsed = (performance.now() - start) / 1000;
    if (Number.isNaN(rssEnd)) rssEnd = await rssOf(pid);
    if (Number.isNaN(rssWarm)) rssWarm = rss[0] ?? rssEnd;

    const sorted = stats.latencies.sort((a, b) => a - b);
    const errors = [...undeclared.values()].reduce((a, b) => a + b, 0);
    const watchers = kinds.filter((k) => k.watcher).length;
    rec.figure('server', `bin/islet server on ${islet.url}`);
    rec.figure('clients', `${o.clients} (${kinds.filter((k) => k.protocol === 'json').length} JSON-RPC, ${kinds.filter((k) => k.protocol === 'xml').length} XML-RPC; ${watchers} of them event.from watchers)`);
    rec.figure('duration', `${elapsed.toFixed(1)} s`);
    rec.figure('requests', `${stats.requests} (${(stats.requests / elapsed).toFixed(0)}/s; JSON-RPC ${stats.json}, XML-RPC ${stats.xml}; writes ${stats.writes})`);
    rec.figure('event.from', `${stats.eventCalls} calls, ${stats.eventsSeen} events delivered`);
    rec.figure('declared errors', `${stats.declared} (HANDLE_INVALID, asked for)`);
    rec.figure('undeclared errors', errors);
    rec.figure('latency p50/p99', `${percentile(sorted, 50).toFixed(1)} ms / ${percentile(sorted, 99).toFixed(1)} ms (max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} ms)`);
    const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    rec.figure('server RSS', `${mib(rssStart)} at start -> ${mib(rssWarm)} after ${(warmupMs / 1000).toFixed(0)} s warm-up -> ${mib(rssEnd)} at end (peak ${mib(Math.max(...rss, rssEnd))}; garbage included)`);
    const { warm, end } = kept;
    let growth = NaN;
    if (warm && end) {
      growth = (end.rss - warm.rss) / warm.rss;
      rec.figure('server retained', `RSS ${mib(warm.rss)} -> ${mib(end.rss)} (${(growth * 100).toFixed(1)} %), heap ${mib(warm.heapUsed)} -> ${mib(end.heapUsed)}, external ${mib(warm.external)} -> ${mib(end.external)}: after full GC at warm-up and ${((endProbeMs) / 1000).toFixed(0)} s`);
    }

    for (const [what, n] of undeclared) rec.fail(`${n} x ${what}`);
    rec.check(stats.requests > 0, 'no request completed');
    rec.check(watchers === 0 || stats.eventsSeen > 0, 'the event.from watchers saw none of the writes');
    if (o.seconds >= 20) {
      const limit = o.rssGrowth ?? 0.1;
      if (rec.check(warm !== undefined && end !== undefined, 'the server answered no memory probe'))
        rec.check(growth <= limit, `server RSS kept after full GC grew ${(growth * 100).toFixed(1)} % from warm-up to end (limit ${(limit * 100).toFixed(0)} %)`);
    }
    if (/INTERNAL_ERROR|Error:|at .*\.js:\d+/.test(islet.stderr())) rec.fail(`the server logged an error: ${islet.stderr().slice(-500)}`);
  } finally {
    for (const c of clients) c.close();
    await islet.stop();
  }
  return rec.result();
}
