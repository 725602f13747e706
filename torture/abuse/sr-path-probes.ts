/**
 * @module
 * Hostile SR paths: `SR.create` of a file SR on system locations, relative paths, `/proc`
 * and a symlink to `/etc` must each be refused with a typed XenAPI error, promptly, leaving
 * nothing behind in the (namespaced copy of) `/etc` and the server idle afterwards. `/`
 * itself cannot be made read-only for the server alone, so it is probed last and only when
 * every other system location was refused; otherwise it counts as a failure unprobed.
 */
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RpcClient } from '../rpc-client.js';
import type { SuiteRecorder } from '../suite-result.js';
import { cpuSeconds, type AbuseServer } from './abuse-server.js';

export async function srPathProbes(rec: SuiteRecorder, srv: AbuseServer, api: RpcClient, session: string): Promise<number> {
  const host = (await api.call('host.get_all', [session])) as { ok: true; value: string[] };
  const scratch = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'islet-abuse-link-'));
  const link = join(scratch, 'looks-harmless');
  await symlink('/etc', link);
  const etcBefore = new Set(await readdir(srv.etc));
  const paths = ['/etc', '../../etc', '/proc/self', link, '/sys', '/dev', '/usr', '/boot', srv.dataDir, join(scratch, 'missing', 'deeper'), 'relative-dir', '/'];
  let probes = 0;
  try {
    for (const path of paths) {
      probes++;
      if (path === '/' && rec.failures.some((f) => f.startsWith('SR.create'))) {
        rec.figure('probe SR path /', 'not probed: another system location was accepted, so / might be written');
        rec.fail('SR.create path=/: not probed, another system location was accepted');
        continue;
      }
      const r = await api.call('SR.create', [session, host.value[0], { path }, 0, `abuse ${path}`, '', 'file', 'user', false, {}]);
      const outcome = r.ok ? `ACCEPTED (${String(r.value)})` : r.transport ? `no answer: ${r.transport}` : r.error.join(' ').slice(0, 120);
      rec.figure(`probe SR path ${path === link ? 'symlink->/etc' : path === srv.dataDir ? '<data dir>' : path}`, `${outcome} in ${r.ms.toFixed(0)} ms`);
      rec.check(!r.ok && !r.transport && r.error[0] !== 'INTERNAL_ERROR', `SR.create path=${path}: ${outcome}`);
      if (!srv.alive()) { rec.fail(`the server died on path=${path}`); break; }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const added = (await readdir(srv.etc)).filter((n) => !etcBefore.has(n));
  rec.figure('probe SR path leftovers', added.length ? `written into /etc: ${added.join(', ')}` : 'nothing written into /etc');
  rec.check(added.length === 0, `hostile SR paths left ${added.join(', ')} in /etc`);
  if (srv.alive()) {
    const c0 = await cpuSeconds(srv.pid);
    await new Promise((r) => setTimeout(r, 3000));
    const busy = (await cpuSeconds(srv.pid)) - c0;
    rec.figure('probe SR path aftermath', `server used ${busy.toFixed(2)} CPU s in the 3 s after the probes`);
    rec.check(busy < 1.5, `the server keeps spinning after the hostile SR paths (${busy.toFixed(2)} CPU s in 3 s)`);
  }
  return probes + 1;
}
