/**
 * The xe administration commands against a real one-host Islet with its hypervisor
 * simulator: vm-memory-limits/-static-range/-dynamic-range/-target-set (read back through
 * XenAPI, a bad range refused with xe's text), vm-checkpoint of a running VM, vbd-plug/
 * -unplug/-destroy of a disk on a running VM, host-dmesg (the simulator's console ring with
 * the VM's domain in it), host-forget refusing a live host, pool-sync-database, event-wait
 * (at once when already true, woken by a change, "key missing" for an unknown field) and
 * user-password-change, diagnostic-vm-status/-vdi-status, diagnostic-timing-stats/-gc-stats/-compact/-db-stats,
 * log-get and host-logs-download.
 * Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { completeRecord } from '../../src/client/create-record.js';

interface Run { code: number | null; out: string; err: string }
const PW = 'xe-admin-pw';
const MiB = 1024 * 1024;

describe('xe administration commands', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  let home: string;
  let vm: string;
  let vmUuid: string;
  let password = PW;

  const xe = (args: string[], stdin?: string): Promise<Run> => new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.XE_EXTRA_ARGS;
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(islet.port), '-pw', password, ...args],
      { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
  const ok = async (...args: string[]) => {
    const r = await xe(args);
    assert.equal(r.code, 0, `xe ${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const num = async (field: string, ref = vm) => Number(await api.call(`VM.get_${field}`, ref));

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'xe-admin-home-'));
    islet = await startIslet({ rootPassword: PW, env: { ISLET_HYPERVISOR_MEMORY: '2G' } });
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
    const m = 256 * MiB;
    vm = String(await api.call('VM.create', completeRecord('VM', {
      name_label: 'mem-vm', memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
      VCPUs_max: 1, VCPUs_at_startup: 1,
    })));
    vmUuid = String(await api.call('VM.get_uuid', vm));
  });
  after(async () => {
    await api?.logout().catch(() => undefined);
    api?.close();
    await islet?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('sets memory limits, static and dynamic ranges and the target, with xe units', async () => {
    await ok('vm-memory-limits-set', `uuid=${vmUuid}`, 'static-min=64MiB', 'static-max=512MiB', 'dynamic-min=128MiB', 'dynamic-max=256MiB');
    assert.deepEqual([await num('memory_static_min'), await num('memory_static_max'), await num('memory_dynamic_min'), await num('memory_dynamic_max')],
      [64 * MiB, 512 * MiB, 128 * MiB, 256 * MiB]);
    await ok('vm-memory-static-range-set', 'vm=mem-vm', 'min=96MiB', 'max=384MiB');
    assert.deepEqual([await num('memory_static_min'), await num('memory_static_max')], [96 * MiB, 384 * MiB]);
    await ok('vm-memory-dynamic-range-set', 'vm=mem-vm', 'min=160MiB', 'max=320MiB');
    assert.deepEqual([await num('memory_dynamic_min'), await num('memory_dynamic_max')], [160 * MiB, 320 * MiB]);
    await ok('vm-memory-target-set', 'vm=mem-vm', `target=${200 * MiB}`);
    assert.deepEqual([await num('memory_dynamic_min'), await num('memory_dynamic_max')], [200 * MiB, 200 * MiB]);
  });

  it('refuses a dynamic range outside the static range with the server\'s reason', async () => {
    const r = await xe(['vm-memory-dynamic-range-set', 'vm=mem-vm', 'min=32MiB', 'max=200MiB']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /memory/i);
    assert.doesNotMatch(r.err, /INTERNAL_ERROR|Error code:/);
    assert.equal(await num('memory_dynamic_min'), 200 * MiB);
    const bad = await xe(['vm-memory-target-set', 'vm=mem-vm', 'target=lots']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /Failed to parse field 'target'/);
  });

  it('host-dmesg prints the hypervisor console ring, with the domain of a VM just started', async () => {
    await ok('vm-start', 'vm=mem-vm');
    const out = await ok('host-dmesg');
    const lines = out.trimEnd().split('\n');
    assert.ok(lines.length > 3, out);
    for (const l of lines) assert.match(l, /^\(XEN\) \[\s*\d+\.\d{6}\] /);
    assert.match(out, new RegExp(`created \\(VM ${vmUuid}, 200 MiB, 1 vCPU\\)`));
  });

  it('vbd-plug, vbd-unplug and vbd-destroy a disk of the running VM', async () => {
    const [pbd] = (await api.call('host.get_PBDs', (await api.call('host.get_all') as string[])[0])) as string[];
    const sr = String(await api.call('PBD.get_SR', pbd));
    const vdi = String(await api.call('VDI.create', {
      SR: sr, name_label: 'hot disk', virtual_size: 8 * MiB, type: 'user', sharable: false, read_only: false, other_config: {},
    }));
    const vdiUuid = String(await api.call('VDI.get_uuid', vdi));
    const vbdUuid = (await ok('vbd-create', `vm-uuid=${vmUuid}`, `vdi-uuid=${vdiUuid}`, 'device=1')).trim();
    const vbd = String(await api.call('VBD.get_by_uuid', vbdUuid));
    await ok('vbd-plug', `uuid=${vbdUuid}`);
    assert.equal(await api.call('VBD.get_currently_attached', vbd), true);
    const busy = await xe(['vbd-destroy', `uuid=${vbdUuid}`]);
    assert.notEqual(busy.code, 0, 'a plugged VBD cannot be destroyed');
    await ok('vbd-unplug', `uuid=${vbdUuid}`);
    assert.equal(await api.call('VBD.get_currently_attached', vbd), false);
    await ok('vbd-destroy', `uuid=${vbdUuid}`);
    const gone = await xe(['vbd-param-list', `uuid=${vbdUuid}`]);
    assert.match(gone.err, /The uuid you supplied was invalid/);
  });

  it('vm-checkpoint of a running VM makes a suspended snapshot and leaves the VM running', async () => {
    const uuid = (await ok('vm-checkpoint', 'vm=mem-vm', 'new-name-label=cp1')).trim();
    const cp = String(await api.call('VM.get_by_uuid', uuid));
    assert.equal(await api.call('VM.get_is_a_snapshot', cp), true);
    assert.equal(await api.call('VM.get_snapshot_of', cp), vm);
    assert.equal(await api.call('VM.get_power_state', cp), 'Suspended');
    assert.equal(await api.call('VM.get_power_state', vm), 'Running');
  });

  it('event-wait returns at once when already true, waits for a change otherwise, and names an unknown field', async () => {
    await ok('event-wait', 'class=vm', 'name-label=mem-vm', 'power-state=running');
    const waiting = xe(['event-wait', 'class=vm', 'name-label=mem-vm', 'power-state=halted']);
    let done = false;
    void waiting.then(() => { done = true; });
    // Proof that it waits: while the VM runs, a second condition already true returns first.
    await ok('event-wait', 'class=vm', 'name-label=mem-vm', 'power-state=/=halted');
    assert.equal(done, false, 'event-wait returned before the VM halted');
    await api.call('VM.hard_shutdown', vm);
    const r = await waiting;
    assert.equal(r.code, 0, r.err);
    const bad = await xe(['event-wait', 'class=vm', 'colour=blue']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /key missing: colour/);
  });

  it('host-forget warns and asks; a live host is refused with xe\'s text', async () => {
    const hostUuid = String(await api.call('host.get_uuid', (await api.call('host.get_all') as string[])[0]));
    const asked = await xe(['host-forget', `uuid=${hostUuid}`], 'no\n');
    assert.match(asked.out, /WARNING: A host should only be forgotten if it is physically unrecoverable;/);
    assert.match(asked.out, /Type 'yes' to continue/);
    assert.match(asked.out, /Aborted \(you typed: 'no'\)/);
    const forced = await xe(['host-forget', `uuid=${hostUuid}`, '--force']);
    assert.notEqual(forced.code, 0);
    assert.match(forced.err, /This operation cannot be completed because the server is still live\./);
    assert.equal((await api.call('host.get_all') as string[]).length, 1);
  });

  it('diagnostic-vm-status and diagnostic-vdi-status report drives, hosts and agility', async () => {
    const [pbd] = (await api.call('host.get_PBDs', (await api.call('host.get_all') as string[])[0])) as string[];
    const sr = String(await api.call('PBD.get_SR', pbd));
    const vdi = String(await api.call('VDI.create', {
      SR: sr, name_label: 'diag disk', virtual_size: 8 * MiB, type: 'user', sharable: false, read_only: false, other_config: {},
    }));
    const vdiUuid = String(await api.call('VDI.get_uuid', vdi));
    const vbdUuid = (await ok('vbd-create', `vm-uuid=${vmUuid}`, `vdi-uuid=${vdiUuid}`, 'device=2')).trim();
    const host = String(await api.call('host.get_name_label', (await api.call('host.get_all') as string[])[0]));
    const out = await ok('diagnostic-vm-status', `uuid=${vmUuid}`);
    assert.match(out, new RegExp(`^uuid \\( RO\\)\\s*: ${vmUuid}$`, 'm'));
    assert.match(out, /power-state \( RO\): halted/);
    assert.match(out, /possible-hosts \( RO\): [0-9a-f-]{36}/);
    assert.match(out, /Checking to see whether disks are attachable\n/);
    assert.match(out, new RegExp(`uuid \\( RO\\)\\s*: ${vbdUuid}\\n(.*\\n)*?\\s*attachable \\( RO\\): true`));
    assert.match(out, /Checking to see whether VM can boot on each host\n/);
    assert.match(out, new RegExp(`${host}\\s*: OK`));
    // Its disk is on the host's local SR: not agile, and xe says which SR.
    assert.match(out, new RegExp(`VM is not agile because: VM requires access to non-shared SR: ${String(await api.call('SR.get_uuid', sr))}`));

    const vdiOut = await ok('diagnostic-vdi-status', `uuid=${vdiUuid}`);
    assert.match(vdiOut, /name-label \( RW\): diag disk/);
    assert.match(vdiOut, /no active VBDs\.\ninactive VBDs:\n/);
    assert.match(vdiOut, new RegExp(`uuid \\( RO\\)\\s*: ${vbdUuid}`));
    await ok('vbd-destroy', `uuid=${vbdUuid}`);
  });

  it('log-get prints the toolstack\'s recent log; host-logs-download saves it to a file', async () => {
    const out = await ok('log-get');
    const lines = out.trimEnd().split('\n');
    assert.ok(lines.length > 0 && lines[0] !== '', 'some log');
    for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    const file = join(home, 'host.log');
    assert.equal(await ok('host-logs-download', `file-name=${file}`), '');
    const saved = await readFile(file, 'utf8');
    assert.ok(saved.startsWith(`${lines[0]}\n`), 'the file holds the same log');
    // As every download xe saves: into a new file, never over one already there.
    const again = await xe(['host-logs-download', `file-name=${file}`]);
    assert.equal(again.code, 1);
    assert.equal(again.err, `Operation failed. Error: Sys_error("${file}: File exists")\n`);
    assert.equal(await readFile(file, 'utf8'), saved);
  });

  it('diagnostic-timing-stats, -gc-stats, -compact and -db-stats report the toolstack\'s own figures', async () => {
    const hostUuid = String(await api.call('host.get_uuid', (await api.call('host.get_all') as string[])[0]));
    const timing = await ok('diagnostic-timing-stats');
    assert.match(timing, new RegExp(`^host-uuid\\s*: ${hostUuid}$`, 'm'));
    assert.match(timing, /^\s*VM\.start\s*: n=1 mean=[\d.]+ms max=[\d.]+ms failures=0$/m);
    assert.match(timing, /^\s*session\.login_with_password\s*: n=\d+ /m);
    const gc = await ok('diagnostic-gc-stats');
    const heap = Number(/heap_used_bytes\s*: (\d+)/.exec(gc)?.[1]);
    assert.ok(heap > 1024 * 1024, gc);
    assert.match(gc, /minor_collections\s*: \d+/);
    assert.equal(await ok('diagnostic-compact'), '');
    const majors = Number(/major_collections\s*: (\d+)/.exec(await ok('diagnostic-gc-stats'))?.[1]);
    assert.ok(majors >= 1, 'the compaction was a major collection');
    const db = await ok('diagnostic-db-stats');
    assert.match(db, /^generation\s*: \d+$/m);
    assert.match(db, /^\s*objects:VM\s*: \d+$/m);
    assert.match(db, /^\s*objects:host\s*: 1$/m);
  });

  it('pool-sync-database succeeds on the master', async () => {
    assert.equal(await ok('pool-sync-database'), '');
  });

  it('user-password-change changes root\'s password: the new one logs in, the old one no longer', async () => {
    await ok('user-password-change', `old=${PW}`, 'new=changed-pw');
    const fresh = new XapiClient({ url: islet.url });
    try {
      await fresh.login('root', 'changed-pw');
      await assert.rejects(new XapiClient({ url: islet.url }).login('root', PW));
    } finally {
      await fresh.logout().catch(() => undefined);
      fresh.close();
    }
    password = 'changed-pw';
    await ok('user-password-change', 'new=' + PW);
    password = PW;
    api.close();
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
  });
});
