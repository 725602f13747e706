/**
 * Data sources (host/VM.get_data_sources, query_data_source, record_data_source,
 * forget_data_source_archives and the xe commands over them): forgetting a source drops
 * its column from every archive and leaves the others' history as it was (unit); on a real
 * host the host's and a running VM's sources are listed with their units and bounds, a
 * query gives the latest sample (the host's memory against /proc/meminfo, the VM's against
 * its memory), a forgotten source reads as not recorded and is recorded again by the next
 * sample or on request, an unknown name and a halted VM are refused, and xe prints them as
 * XenServer's xe does.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { buildXport } from '../../src/core/rrd/rrd-updates.js';
import { Rrd } from '../../src/core/rrd/rrd.js';
import { ocamlFloat } from '../../src/cli/commands/data-source-commands.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { waitFor } from '../helpers/islet-pool.js';
import { runXe } from '../helpers/xe.js';

const PW = 'ds-pw';
const MiB = 1024 * 1024;
type Rec = Record<string, any>;

describe('data sources in an RRD (unit)', () => {
  const ds = (name: string) => ({ name, units: 'B', description: name, min: 0, max: Infinity });
  it('forgets one source\'s column in every archive, keeps the others\' history, and records it again on the next sample', () => {
    const r = new Rrd('host', 'h');
    const t0 = 1_800_000_000 - (1_800_000_000 % 60);
    for (let k = 1; k <= 24; k++) r.update(t0 + k * 5, [[ds('a'), k], [ds('b'), 100 + k], [ds('c'), 200 + k]]);
    assert.equal(r.records('b'), true);
    assert.equal(r.forget('b'), true);
    assert.equal(r.records('b'), false);
    assert.equal(r.forget('nothing'), false);
    const x = buildXport([r], { start: t0, interval: 60, cf: 'AVERAGE' });
    assert.deepEqual(x.legend, ['AVERAGE:host:h:a', 'AVERAGE:host:h:c']);
    assert.deepEqual(x.rows.map((row) => row.values), [[(13 + 24) / 2, 200 + (13 + 24) / 2], [(1 + 12) / 2, 200 + (1 + 12) / 2]]);
    // The latest sample still has it: it can be recorded again at once, with no history.
    assert.equal(r.latest.get('b')?.value, 124);
    assert.equal(r.record('b'), true);
    assert.equal(r.records('b'), true);
    r.update(t0 + 25 * 5, [[ds('a'), 25], [ds('b'), 125], [ds('c'), 225]]);
    const fine = buildXport([r], { start: t0 + 100, interval: 5, cf: 'AVERAGE' });
    const col = fine.legend.indexOf('AVERAGE:host:h:b');
    assert.equal(fine.rows[0]!.values[col], 125);
    assert.ok(fine.rows.slice(1).every((row) => Number.isNaN(row.values[col])), 'no history before it was recorded again');
  });
  it('prints bounds as OCaml\'s string_of_float does', () => {
    assert.deepEqual([0, 1, 0.5, Infinity, -Infinity, NaN, 1 / 3].map(ocamlFloat), ['0.', '1.', '0.5', 'inf', '-inf', 'nan', '0.333333333333']);
  });
});

describe('data sources on a real host', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let api: XapiClient;
  let host: string;
  let vm: string;
  let halted: string;
  const xe = async (...args: string[]) => runXe(['-s', '127.0.0.1', '-p', String(srv.port), '-pw', PW, ...args]);
  const sources = async (method: string, of: string) => new Map(((await api.call(method, of)) as Rec[]).map((d) => [String(d.name_label), d]));

  before(async () => {
    srv = await startIslet({ rootPassword: PW });
    api = new XapiClient({ url: srv.url });
    await api.login('root', PW);
    host = ((await api.call('host.get_all')) as string[])[0]!;
    const make = (name: string) => api.call('VM.create', completeRecord('VM', {
      name_label: name, memory_static_max: 64 * MiB, memory_dynamic_max: 64 * MiB, memory_dynamic_min: 64 * MiB, memory_static_min: 64 * MiB,
      VCPUs_max: 2, VCPUs_at_startup: 2,
    }));
    vm = String(await make('ds-vm'));
    halted = String(await make('ds-halted'));
    await api.call('VM.start', vm, false, false);
  });
  after(async () => {
    api?.close();
    await srv?.stop();
  });

  it('lists the host\'s sources with units and bounds, and a query gives the latest sample', async () => {
    const dss = await waitFor(async () => {
      const m = await sources('host.get_data_sources', host);
      return m.has('cpu0') && m.has('memory_total_kib') ? m : undefined;
    }, 20_000, 'the host\'s first sample');
    const cpu = dss.get('cpu0')!;
    assert.equal(cpu.units, '(fraction)');
    assert.equal(cpu.min, 0);
    assert.equal(cpu.max, 1);
    assert.equal(cpu.enabled, true);
    assert.equal(cpu.standard, true);
    assert.equal(dss.get('memory_free_kib')!.max, null, 'an unbounded maximum (JSON has no Infinity)');
    const meminfo = Number(/^MemTotal:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'))![1]);
    assert.equal(await api.call('host.query_data_source', host, 'memory_total_kib'), meminfo);
    await assert.rejects(api.call('host.query_data_source', host, 'no_such_source'), (e: Error) => /INTERNAL_ERROR.*Datasource_missing no_such_source/.test(String(e.message)));
  });

  it('forgets a source\'s archives (not recorded until the next sample), and records it again on request', async () => {
    await api.call('host.forget_data_source_archives', host, 'loadavg');
    assert.equal((await sources('host.get_data_sources', host)).get('loadavg')?.enabled, false);
    await api.call('host.record_data_source', host, 'loadavg');
    assert.equal((await sources('host.get_data_sources', host)).get('loadavg')?.enabled, true);
    await api.call('host.forget_data_source_archives', host, 'loadavg');
    await waitFor(async () => ((await sources('host.get_data_sources', host)).get('loadavg')?.enabled === true) || undefined, 20_000, 'loadavg recorded again by the next sample');
    await assert.rejects(api.call('host.record_data_source', host, 'no_such_source'), /Datasource_missing/);
    await assert.rejects(api.call('host.forget_data_source_archives', host, 'no_such_source'), /Datasource_missing/);
  });

  it('lists a running VM\'s sources; a halted VM has none and its figures are refused', async () => {
    const dss = await waitFor(async () => {
      const m = await sources('VM.get_data_sources', vm);
      return m.has('cpu1') && m.has('memory') ? m : undefined;
    }, 20_000, 'the VM\'s first sample');
    assert.match(String(dss.get('cpu0')!.name_description), /simulated/);
    assert.equal(await api.call('VM.query_data_source', vm, 'memory'), 64 * MiB);
    assert.deepEqual(await api.call('VM.get_data_sources', halted), []);
    await assert.rejects(api.call('VM.query_data_source', halted, 'memory'), /VM_BAD_POWER_STATE/);
    await assert.rejects(api.call('VM.record_data_source', halted, 'memory'), /VM_BAD_POWER_STATE/);
  });

  it('xe host-data-source-list/-query/-forget/-record and vm-data-source-list/-query print as XenServer\'s xe', async () => {
    const list = await xe('host-data-source-list');
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^name_label ?\s*: cpu0\n\s*name_description: .+\n\s*enabled: true\n\s*standard: true\n\s*min: 0\.\n\s*max: 1\.\n\s*units: \(fraction\)$/m);
    assert.match(list.out, /name_label ?\s*: memory_free_kib\n(.*\n){3}\s*min: 0\.\n\s*max: inf\n/);
    const q = await xe('host-data-source-query', 'data-source=memory_total_kib');
    assert.equal(q.code, 0, q.err);
    assert.match(q.out.trim(), /^\d+\.000000$/);
    for (const op of ['forget', 'record']) {
      const r = await xe(`host-data-source-${op}`, 'data-source=pool_task_count');
      assert.equal(r.code, 0, r.err);
    }
    const bad = await xe('host-data-source-query', 'data-source=nope');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /Datasource_missing nope/);

    const vmList = await xe('vm-data-source-list', 'vm=ds-vm');
    assert.equal(vmList.code, 0, vmList.err);
    assert.match(vmList.out, /name_label ?\s*: memory\n/);
    assert.equal((await xe('vm-data-source-query', 'vm=ds-vm', 'data-source=memory')).out.trim(), `${64 * MiB}.000000`);
    const none = await xe('vm-data-source-list', 'vm=ds-halted');
    assert.equal(none.code, 0, none.err);
    assert.equal(none.out.trim(), '');
  });
});
