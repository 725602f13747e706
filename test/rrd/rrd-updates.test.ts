/**
 * `/rrd_updates` as Xen Orchestra and XenCenter read it, against a real host: start in
 * seconds, rows newest first, legend/columns/rows consistent, the archive chosen by interval
 * and start, `host=true` only, JSON by Accept or by a `json` key, 400 without start, CORS,
 * task_id completed, and figures that really move: the host's CPU from /proc, a disk import
 * seen as SR writes, a running VM's CPU (labelled simulated) and memory.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { buildXport, formatValue, wantsJson } from '../../src/core/rrd/rrd-updates.js';
import { Rrd } from '../../src/core/rrd/rrd.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { waitFor } from '../helpers/islet-pool.js';
import { completeRecord } from '../../src/client/create-record.js';

const PW = 'rrd-pw';
const MiB = 1024 * 1024;

interface Json { meta: { start: number; step: number; end: number; rows: number; columns: number; legend: string[] }; data: Array<{ t: number; values: string[] }> }

describe('RRD archives and xport (unit)', () => {
  const ds = { name: 'x', units: '', description: '', min: 0, max: Infinity };
  it('consolidates 12 five-second points into one minute row and answers newest first', () => {
    const r = new Rrd('host', 'h');
    const t0 = 1_800_000_000 - (1_800_000_000 % 60);
    for (let k = 1; k <= 24; k++) r.update(t0 + k * 5, [[ds, k]]);
    const fine = buildXport([r], { start: t0, interval: 5, cf: 'AVERAGE' });
    assert.equal(fine.step, 5);
    assert.equal(fine.rows[0]!.t, t0 + 120);
    assert.equal(fine.rows[0]!.values[0], 24);
    assert.ok(fine.rows.every((row, i) => i === 0 || row.t < fine.rows[i - 1]!.t));
    const minute = buildXport([r], { start: t0, interval: 60, cf: 'AVERAGE' });
    assert.equal(minute.step, 60);
    assert.deepEqual(minute.rows.map((x) => x.values[0]), [(13 + 24) / 2, (1 + 12) / 2]);
    const max = buildXport([r], { start: t0, interval: 60, cf: 'MAX' });
    assert.equal(max.rows[0]!.values[0], 24);
    assert.deepEqual(buildXport([r], { start: t0, interval: 60 }).legend, ['AVERAGE:host:h:x', 'MIN:host:h:x', 'MAX:host:h:x']);
  });
  it('moves to a coarser archive when start is older than the fine one keeps', () => {
    const r = new Rrd('vm', 'v');
    const t0 = 1_800_000_000;
    for (let k = 1; k <= 200; k++) r.update(t0 + k * 5, [[ds, 1]]);
    assert.equal(buildXport([r], { start: t0 + 1000 - 700, interval: 5 }).step, 60);
    assert.equal(buildXport([r], { start: t0 + 1000 - 300, interval: 5 }).step, 5);
  });
  it('prints values as %.15g with 0.0 and NaN', () => {
    assert.equal(formatValue(0), '0.0');
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(0.25), '0.25');
    assert.equal(formatValue(1 / 3), '0.333333333333333');
    assert.equal(formatValue(123456789), '123456789');
    assert.equal(formatValue(1e20), '1e+20');
    assert.equal(formatValue(0.00001234), '1.234e-05');
  });
  it('chooses JSON as xapi does', () => {
    const q = (s: string) => new URLSearchParams(s);
    assert.equal(wantsJson(undefined, q('json=false')), true);
    assert.equal(wantsJson(undefined, q('')), false);
    assert.equal(wantsJson('*/*', q('')), true);
    assert.equal(wantsJson('text/xml', q('json=true')), false);
    assert.equal(wantsJson('application/json;q=0.5, text/xml', q('')), false);
  });
});

describe('GET /rrd_updates on a real host', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let api: XapiClient;
  let session: string;
  let hostUuid: string;
  let srUuid: string;
  let vmUuid: string;

  const get = async (query: string, headers: Record<string, string> = {}) =>
    fetch(`${srv.url}/rrd_updates?session_id=${encodeURIComponent(session)}&${query}`, { headers });
  const json = async (query: string): Promise<Json> => (await (await get(query, { accept: 'application/json' })).json()) as Json;
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    srv = await startIslet({ rootPassword: PW });
    api = new XapiClient({ url: srv.url });
    session = await api.login('root', PW);
    const host = ((await api.call('host.get_all')) as string[])[0]!;
    hostUuid = String(await api.call('host.get_uuid', host));
    const pool = ((await api.call('pool.get_all')) as string[])[0]!;
    const sr = String(await api.call('pool.get_default_SR', pool));
    srUuid = String(await api.call('SR.get_uuid', sr));
    const vm = String(await api.call('VM.create', completeRecord('VM', {
      name_label: 'rrd-vm', memory_static_max: 64 * MiB, memory_dynamic_max: 64 * MiB, memory_dynamic_min: 64 * MiB, memory_static_min: 64 * MiB,
      VCPUs_max: 2, VCPUs_at_startup: 2, actions_after_reboot: 'restart',
    })));
    vmUuid = String(await api.call('VM.get_uuid', vm));
    const network = Object.entries((await api.call('network.get_all_records')) as Record<string, { bridge: string }>)
      .find(([, n]) => n.bridge === 'xenbr0')![0];
    await api.call('VIF.create', completeRecord('VIF', { device: '0', network, VM: vm, MAC: '', MTU: 1500 }));
    await api.call('VM.start', vm, false, false);
    const vdi = await api.callAsync('VDI.create', {
      name_label: 'rrd disk', name_description: '', SR: sr, virtual_size: 16 * MiB, type: 'user',
      sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
    });
    await api.putFile('/import_raw_vdi', { vdi: String(vdi) }, Buffer.alloc(8 * MiB, 7));
  });
  after(async () => {
    api?.close();
    await srv?.stop();
  });

  it('refuses a missing start with 400 and sends CORS headers', async () => {
    const r = await fetch(`${srv.url}/rrd_updates?session_id=${encodeURIComponent(session)}&host=true`);
    assert.equal(r.status, 400);
    const ok = await get(`start=${now() - 60}&host=true`);
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    assert.equal((await fetch(`${srv.url}/rrd_updates?start=1`)).status, 401);
  });

  it('reports the disk import as SR writes, host CPU and memory, and the VM (simulated CPU)', async () => {
    const s8 = srUuid.slice(0, 8);
    const x = await waitFor(async () => {
      const j = await json(`start=${now() - 600}&host=true&cf=AVERAGE&interval=5&json=true`);
      const col = j.meta.legend.indexOf(`AVERAGE:host:${hostUuid}:write_${s8}`);
      const cpu = j.meta.legend.indexOf(`AVERAGE:host:${hostUuid}:cpu0`);
      const vcpu = j.meta.legend.indexOf(`AVERAGE:vm:${vmUuid}:cpu1`);
      if (col < 0 || cpu < 0 || vcpu < 0) return undefined;
      const written = j.data.some((row) => Number(row.values[col]) > 0);
      const cpuSeen = j.data.some((row) => row.values[cpu] !== 'NaN');
      const vcpuSeen = j.data.some((row) => Number(row.values[vcpu]) > 0);
      return written && cpuSeen && vcpuSeen ? j : undefined;
    }, 40_000, 'write, cpu0 and vm cpu1 figures', 1000);
    assert.equal(x.meta.step, 5);
    assert.equal(x.meta.columns, x.meta.legend.length);
    assert.equal(x.meta.rows, x.data.length);
    assert.equal(x.data[0]!.t, x.meta.end);
    for (const row of x.data) {
      assert.equal(row.values.length, x.meta.columns);
      for (const v of row.values) assert.match(v, /^(NaN|-?\d+(\.\d+)?(e[+-]\d+)?)$/);
    }
    const total = Number(x.data.find((r) => r.values[x.meta.legend.indexOf(`AVERAGE:host:${hostUuid}:memory_total_kib`)] !== 'NaN')!
      .values[x.meta.legend.indexOf(`AVERAGE:host:${hostUuid}:memory_total_kib`)]);
    assert.ok(total > 1024, String(total));
    const mem = x.meta.legend.indexOf(`AVERAGE:vm:${vmUuid}:memory`);
    assert.ok(x.data.some((r) => Number(r.values[mem]) === 64 * MiB));
  });

  it('reports network throughput: the PIF from the OS interface holding its address, the VIF (simulated)', async () => {
    const host = ((await api.call('host.get_all')) as string[])[0]!;
    const pifs = Object.values((await api.call('PIF.get_all_records')) as Record<string, { host: string; device: string; IP: string }>)
      .filter((p) => p.host === host && p.IP);
    assert.ok(pifs.length > 0, 'the host has a PIF with an address');
    const dev = pifs[0]!.device;
    // The API traffic of this very test goes through the interface holding that address.
    const iface = Object.entries(networkInterfaces()).find(([, a]) => a?.some((x) => x.address === pifs[0]!.IP))?.[0];
    assert.ok(iface && (await readFile('/proc/net/dev', 'utf8')).includes(`${iface}:`), `OS interface for ${pifs[0]!.IP}`);
    const x = await waitFor(async () => {
      const j = await json(`start=${now() - 600}&host=true&cf=AVERAGE&interval=5&json=true`);
      const cols = [`host:${hostUuid}:pif_${dev}_rx`, `host:${hostUuid}:pif_${dev}_tx`, `vm:${vmUuid}:vif_0_rx`, `vm:${vmUuid}:vif_0_tx`]
        .map((n) => j.meta.legend.indexOf(`AVERAGE:${n}`));
      if (cols.some((c) => c < 0)) return undefined;
      return cols.every((c) => j.data.some((row) => Number(row.values[c]) > 0)) ? j : undefined;
    }, 40_000, `pif_${dev} and vif_0 figures above zero`, 1000);
    assert.ok(x.meta.legend.includes(`AVERAGE:vm:${vmUuid}:vif_0_rx`));
    // XenCenter's XML form carries the same sources.
    const xml = await (await get(`start=${now() - 60}&host=true&cf=AVERAGE&interval=5`)).text();
    assert.match(xml, new RegExp(`pif_${dev}_rx`));
  });

  it('is XML for XenCenter, JSON for json=false and */*, and host=1 leaves the host out', async () => {
    const xml = await (await get(`start=${now() - 60}&host=true&cf=AVERAGE&interval=5`, { accept: 'text/xml' })).text();
    assert.match(xml, /^<\?xml[^>]*\?><xport><meta><start>\d+<\/start><step>5<\/step><end>\d+<\/end><rows>\d+<\/rows><columns>\d+<\/columns><legend>/);
    const r = await get(`start=${now() - 60}&host=true&json=false`);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const star = await get(`start=${now() - 60}&host=true`, { accept: '*/*' });
    assert.equal(star.headers.get('content-type'), 'application/json');
    const noHost = await json(`start=${now() - 60}&host=1&interval=5`);
    assert.ok(noHost.meta.legend.every((l) => !l.includes(':host:')));
    assert.ok(noHost.meta.legend.some((l) => l.includes(`:vm:${vmUuid}:`)));
  });

  it('answers a start in milliseconds with no rows, and an old start at 1-minute steps', async () => {
    const ms = await json(`start=${Date.now()}&host=true&interval=5`);
    assert.equal(ms.meta.rows, 0);
    const old = await json(`start=${now() - 3600}&host=true&interval=5`);
    assert.equal(old.meta.step, 60);
  });

  it('completes the task named by task_id', async () => {
    const task = String(await api.call('task.create', 'rrd', ''));
    const r = await get(`start=${now() - 60}&host=true&task_id=${encodeURIComponent(task)}`);
    assert.equal(r.status, 200);
    await r.text();
    assert.equal(await api.call('task.get_status', task), 'success');
  });
});
