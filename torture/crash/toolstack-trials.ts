/**
 * @module
 * Crash trials of a whole toolstack: a real `bin/islet server` holds a VM with a disk,
 * snapshots and clones of it; each trial starts one XenAPI operation (VM.snapshot,
 * VM.clone, VM.revert, VDI.destroy + SR GC/coalesce, a raw import over HTTP, an XVA import
 * of the VM (its own crash points, and after a cut no VM or record of it is left), a write
 * through NBD with nbdcopy, a signed update's upload and `pool_patch.apply`) and, in turn,
 * the toolstack, the hypervisor simulator alone, or the whole host (both) dies by SIGKILL:
 * the toolstack either at a storage crash point (`ISLET_CRASH_AT`, set when the server was
 * started for that trial) or at a random moment, the others at a random moment (a
 * toolstack that outlived its hypervisor is then stopped). The server is started again
 * on the same data, and then: every VDI record we know reads exactly its content over
 * `GET /export_raw_vdi` (the disk being reverted, imported or written over NBD is whatever
 * the cut left until the operation is run again), no task stays pending, every `.vhd` file of
 * the SR has a VDI record and every record its file (after a collection), and the same
 * operation, run again, succeeds: the run is resumable.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startIslet, type IsletProcess } from '../../test/helpers/islet-server.js';
import { diskOf, exportDigest, importImage, pattern, vmWithDisk } from '../../test/storage/acceptance/storage-fixture.js';
import { UpdateFixture } from '../../test/updates/update-fixture.js';
import type { Rng } from './rng.js';

const exec = promisify(execFile);

const MiB = 1024 * 1024;
const PASSWORD = 'torture-crash-pw';
/** Storage crash points each operation passes (see src/storage/file); import has none of its own. */
const SNAP = ['snapshot.linked', 'snapshot.base-marked', 'snapshot.leaf-replaced', 'snapshot.created', 'journal.snapshot.start', 'journal.snapshot.done'];
const GC = ['destroy.unlinked', 'coalesce.copied', 'coalesce.relinked', 'coalesce.removed', 'leaf.copied', 'leaf.unhidden', 'leaf.renamed', 'gc.removed'];
/** An XVA import's own points (src/actions/vm/xva): records made, a piece of disk data written, all data in. */
const XVA = ['xva-import.records-made', 'xva-import.piece-written', 'xva-import.data-written'];
const POINTS: Record<string, string[]> = { snapshot: SNAP, clone: SNAP, revert: SNAP, 'destroy+gc': GC, import: [], 'xva-import': XVA, 'nbd-write': [], 'patch-apply': [] };
const OPS = ['snapshot', 'clone', 'revert', 'destroy+gc', 'import', 'xva-import', 'nbd-write', 'patch-apply'] as const;
type Op = (typeof OPS)[number];

interface World {
  islet: IsletProcess;
  api: XapiClient;
  sr: string;
  srPath: string;
  vm: string;
  /** VDI uuid -> sha256 of its content, for every disk whose content is settled. */
  expected: Map<string, string>;
  /** VM snapshots we made, with the content of their disk. */
  snapshots: Array<{ vm: string; sha: string }>;
  n: number;
  /** Scratch directory for NBD source images. */
  scratch: string;
  /** Builds signed updates the server trusts. */
  updates: UpdateFixture;
  /** The VM exported as an XVA (made before the first XVA import trial) and its disk's content. */
  xva?: { path: string; sha: string };
  /** The update being applied when a crash cut it, to be applied again. */
  pendingPatch?: { name: string; path: string };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function connect(islet: IsletProcess): Promise<XapiClient> {
  const api = new XapiClient({ url: islet.url });
  await api.login('root', PASSWORD);
  return api;
}

async function uuidOf(api: XapiClient, vdi: string): Promise<string> {
  return String(await api.call('VDI.get_uuid', vdi));
}

async function digestOf(api: XapiClient, uuid: string): Promise<string | undefined> {
  const ref = await api.call('VDI.get_by_uuid', uuid).catch(() => undefined);
  if (!ref) return undefined;
  return (await exportDigest(api, String(ref))).sha;
}

/**
 * A host on `dataDir` (kept across restarts: the caller removes it), armed with a crash
 * point: the server and its hypervisor simulator, which outlives a toolstack crash and is
 * found again by the next server.
 */
async function start(dataDir: string, port: number | undefined, updateKey: string, crashAt?: string): Promise<IsletProcess> {
  return startIslet({
    rootPassword: PASSWORD, args: ['--update-key', updateKey], dataDir, port, ownsDataDir: false,
    env: crashAt ? { ISLET_CRASH_AT: crashAt } : { ISLET_CRASH_AT: '' },
  });
}

/** Starts one operation; resolves when it ends (with the server dying, it rejects). */
async function operate(w: World, op: Op, rng: Rng): Promise<{ settle: (w: World) => Promise<void>; target?: { vm?: string; before?: string; after?: string } }> {
  const api = w.api;
  if (op === 'patch-apply') return applyPatch(w);
  // A revert cut short leaves the VM without its disk until it is run again; only revert may find it so.
  const disk = op === 'revert' ? await diskOf(api, w.vm).catch(() => undefined) : await diskOf(api, w.vm);
  const diskUuid = disk ? await uuidOf(api, disk) : '';
  const current = w.expected.get(diskUuid) ?? '';
  switch (op) {
    case 'snapshot': {
      const snap = String(await api.callAsync('VM.snapshot', w.vm, `snap-${w.n++}`, []));
      return { settle: async (x) => { x.snapshots.push({ vm: snap, sha: current }); x.expected.set(await uuidOf(x.api, await diskOf(x.api, snap)), current); } };
    }
    case 'clone': {
      const src = w.snapshots.length && rng.next() < 0.5 ? rng.pick(w.snapshots) : { vm: w.vm, sha: current };
      const clone = String(await api.callAsync('VM.clone', src.vm, `clone-${w.n++}`));
      return { settle: async (x) => { x.expected.set(await uuidOf(x.api, await diskOf(x.api, clone)), src.sha); } };
    }
    case 'revert': {
      const s = w.snapshots.length ? rng.pick(w.snapshots) : undefined;
      if (!s) return { settle: async () => undefined };
      await api.callAsync('VM.revert', s.vm);
      return { settle: async (x) => { x.expected.delete(diskUuid); x.expected.set(await uuidOf(x.api, await diskOf(x.api, x.vm)), s.sha); }, target: { vm: w.vm, before: current, after: s.sha } };
    }
    case 'destroy+gc': {
      const s = w.snapshots.length > 1 ? w.snapshots.splice(rng.int(w.snapshots.length), 1)[0]! : undefined;
      if (s) {
        const d = await diskOf(api, s.vm);
        const u = await uuidOf(api, d);
        w.expected.delete(u);
        await api.call('VDI.destroy', d).catch(async () => api.callAsync('VDI.destroy', d));
        await api.call('VM.destroy', s.vm);
      }
      await api.callAsync('SR.islet_gc', w.sr);
      return { settle: async () => undefined };
    }
    case 'import': {
      if (!disk) throw new Error('the VM has no disk to import into');
      const data = pattern(w.n++, 8 * MiB);
      await importImage(api, disk, data);
      return { settle: async (x) => { x.expected.set(diskUuid, sha(data)); }, target: { vm: w.vm, before: current, after: sha(data) } };
    }
    case 'xva-import': {
      const xva = w.xva!;
      const task = String(await api.call('task.create', 'torture XVA import', ''));
      await api.putFile('/import', { task_id: task, sr_id: w.sr }, { path: xva.path });
      const vm = String(await api.waitTask(task));
      await api.call('task.destroy', task);
      return { settle: async (x) => { x.expected.set(await uuidOf(x.api, await diskOf(x.api, vm)), xva.sha); } };
    }
    case 'nbd-write': {
      if (!disk) throw new Error('the VM has no disk to write to');
      const data = pattern(w.n++, 8 * MiB);
      const file = join(w.scratch, `nbd-${w.n}.raw`);
      await writeFile(file, data);
      const [info] = (await api.call('VDI.get_nbd_info', disk)) as Array<{ address: string; port: number; exportname: string }>;
      if (!info) throw new Error('the disk is not exported over NBD');
      await exec('nbdcopy', [file, `nbd://${info.address}:${info.port}/${encodeURIComponent(info.exportname)}`]);
      await rm(file);
      return { settle: async (x) => { x.expected.set(diskUuid, sha(data)); } };
    }
  }
}

/**
 * Uploads (unless a cut-short run already did) and applies an update whose apply hook takes
 * a moment; applying one already applied counts as done. Settling checks the host has it.
 */
async function applyPatch(w: World): Promise<{ settle: (w: World) => Promise<void> }> {
  const api = w.api;
  if (!w.pendingPatch) {
    const name = `TORTURE${String(w.n++).padStart(3, '0')}`;
    const { path } = await w.updates.custom({ name, hooks: { apply: '#!/bin/sh\nsleep 0.3\nexit 0\n' } });
    w.pendingPatch = { name, path };
  }
  const { name, path } = w.pendingPatch;
  const [found] = (await api.call('pool_patch.get_by_name_label', name)) as string[];
  const patch = found ?? (await api.putFile('/pool_patch_upload', {}, { path })).body;
  const [host] = (await api.call('host.get_all')) as string[];
  await api.callAsync('pool_patch.apply', patch, host).catch((e: unknown) => {
    if (!(e instanceof XapiCallError && e.code === 'PATCH_ALREADY_APPLIED')) throw e;
  });
  return {
    settle: async (x) => {
      const hps = (await x.api.call('pool_patch.get_host_patches', patch)) as string[];
      const applied = await Promise.all(hps.map(async (hp) => (await x.api.call('host_patch.get_applied', hp)) === true));
      if (!applied.includes(true)) throw new Error(`${name} is not applied after pool_patch.apply returned`);
      x.pendingPatch = undefined;
    },
  };
}

/** The process (or processes) a trial kills. */
type Victim = 'toolstack' | 'hypervisor' | 'host';
/** In turn, so that even a short run kills each kind: 3 in 5 the toolstack. */
const VICTIMS: readonly Victim[] = ['toolstack', 'hypervisor', 'toolstack', 'host', 'toolstack'];

export async function toolstackTrials(n: number, rng: Rng, only?: readonly string[], progress = false): Promise<{ failures: string[]; failedTrials: number; summary: string }> {
  const failures: string[] = [];
  let failedTrials = 0;
  const counts = new Map<string, number>();
  const victims = new Map<Victim, number>();
  const dataDir = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'islet-torture-toolstack-'));
  const updates = await UpdateFixture.create();
  const islet = await start(dataDir, undefined, updates.keyFile, undefined);
  const port = islet.port;
  const api = await connect(islet);
  let w: World | undefined;
  let died = 0;
  try {
    const [pool] = (await api.call('pool.get_all')) as string[];
    const sr = String(await api.call('pool.get_default_SR', pool));
    const pbd = ((await api.call('SR.get_PBDs', sr)) as string[])[0]!;
    const srPath = ((await api.call('PBD.get_device_config', pbd)) as Record<string, string>).path!;
    const { vm, vdi } = await vmWithDisk(api, sr, 'crash-vm', 8 * MiB);
    const first = pattern(9_999, 8 * MiB);
    await importImage(api, vdi, first);
    // NBD exports need a network with an NBD purpose (plain NBD on loopback here).
    const net = String(await api.call('network.create', {
      name_label: 'torture-nbd', name_description: '', MTU: 1500, other_config: {}, bridge: 'xenbr-torture', managed: true, tags: [],
    }));
    await api.call('network.add_purpose', net, 'insecure_nbd');
    w = { islet, api, sr, srPath, vm, expected: new Map([[await uuidOf(api, vdi), sha(first)]]), snapshots: [], n: 0, scratch: join(dataDir, 'scratch'), updates };
    await mkdir(w.scratch);
    for (let t = 0; t < n; t++) {
      // Every operation in turn (a snapshot first, whatever comes next needs one); the kill is random.
      const ops = only?.length ? OPS.filter((o) => only.includes(o)) : OPS;
      const op: Op = w.snapshots.length === 0 && ops.some((o) => o !== 'patch-apply' && o !== 'import' && o !== 'xva-import' && o !== 'nbd-write') ? 'snapshot' : ops[t % ops.length]!;
      // What dies: the toolstack (most trials), the hypervisor simulator alone, or the whole
      // host (both at once). Only the toolstack has named crash points.
      const victim = VICTIMS[t % VICTIMS.length]!;
      const byPoint = victim === 'toolstack' && POINTS[op]!.length > 0 && rng.next() < 0.6;
      const point = byPoint ? `${rng.pick(POINTS[op]!)}:1` : undefined;
      const delay = 20 + rng.int(400);
      const label = `trial ${t}: ${op}, kill -9 of the ${victim} ${point ? `at ${point}` : `after ${delay} ms`}`;
      counts.set(op, (counts.get(op) ?? 0) + 1);
      victims.set(victim, (victims.get(victim) ?? 0) + 1);
      const before = failures.length;
      const fail = (m: string) => failures.push(`${label}: ${m}`);
      // The server for this trial, armed with its crash point.
      await w.islet.stop().catch(() => undefined);
      w.api.close();
      w.islet = await start(dataDir, port, updates.keyFile, point);
      w.api = await connect(w.islet);
      let flux: string | undefined;
      if (op === 'import' || op === 'nbd-write') flux = await uuidOf(w.api, await diskOf(w.api, w.vm));
      if (op === 'xva-import' && !w.xva) {
        const path = join(w.scratch, 'vm.xva');
        await pipeline(await w.api.getFile('/export', { uuid: String(await w.api.call('VM.get_uuid', w.vm)) }), createWriteStream(path));
        w.xva = { path, sha: w.expected.get(await uuidOf(w.api, await diskOf(w.api, w.vm)))! };
      }
      const vmsBefore = ((await w.api.call('VM.get_all')) as string[]).length;
      if (op === 'revert') {
        // The VM's disk is replaced by a revert: whether the old one is still there after a
        // crash depends on when it came; its successor is what the checks follow.
        const old = await diskOf(w.api, w.vm).catch(() => undefined);
        if (old) w.expected.delete(await uuidOf(w.api, old));
      }
      const snapshotBefore = new Map(w.expected);
      let outcome: Awaited<ReturnType<typeof operate>> | undefined;
      let opError: unknown;
      const running = operate(w, op, rng).then((o) => { outcome = o; }, (e: unknown) => { opError = e; });
      if (!point) {
        await new Promise((r) => setTimeout(r, delay));
        if (victim !== 'toolstack') {
          if (!(await w.islet.hypervisorPid())) fail('no hypervisor simulator process to kill');
          await w.islet.killHypervisor('SIGKILL');
        }
        if (victim !== 'hypervisor') await w.islet.kill9();
      }
      await running;
      // The operation's connection may break before the process's exit is seen: wait for it.
      for (let i = 0; !outcome && victim !== 'hypervisor' && i < 50 && w.islet.child.exitCode === null && w.islet.child.signalCode === null; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (w.islet.child.signalCode === 'SIGKILL' && !outcome) died++;
      if (point && w.islet.child.exitCode === null && w.islet.child.signalCode === null) await w.islet.kill9();
      // The toolstack outlived its hypervisor: the host is restarted on the same data, as an
      // administrator would after the crash.
      if (victim === 'hypervisor') await w.islet.stop().catch(() => undefined);
      w.api.close();
      // Back up on the same data, without a crash point.
      w.islet = await start(dataDir, port, updates.keyFile, undefined);
      w.api = await connect(w.islet);
      const completed = outcome !== undefined && opError === undefined;
      if (completed) await outcome!.settle(w).catch((e: Error) => fail(`settling: ${e.message}`));
      // Contents: every settled disk reads as it must.
      for (const [uuid, want] of completed ? w.expected : snapshotBefore) {
        const got = await digestOf(w.api, uuid).catch((e: Error) => `unreadable: ${e.message}`);
        if (got === want) continue;
        if (!completed && uuid === flux) continue; // checked after the retry below
        if (got === undefined && !completed && op === 'destroy+gc') continue;
        fail(`VDI ${uuid} reads ${got ?? 'nothing (gone)'}, expected ${want.slice(0, 12)}`);
      }
      // An import cut short is rolled back: none of its VMs, no record still marked as an import's.
      if (!completed && op === 'xva-import') {
        const vms = ((await w.api.call('VM.get_all')) as string[]).length;
        if (vms !== vmsBefore) fail(`${vms - vmsBefore} VMs of the cut import are left`);
      }
      for (const cls of ['VM', 'VDI']) {
        const recs = (await w.api.call(`${cls}.get_all_records`)) as Record<string, { other_config: Record<string, string> }>;
        const marked = Object.values(recs).filter((r) => r.other_config.islet_import_task).length;
        if (marked) fail(`${marked} ${cls} records still marked as an unfinished import's`);
      }
      // No task left pending once recovery settled.
      let pending: string[] = [];
      for (let i = 0; i < 50; i++) {
        const tasks = (await w.api.call('task.get_all_records')) as Record<string, { status: string; name_label: string }>;
        pending = Object.values(tasks).filter((x) => x.status === 'pending').map((x) => x.name_label);
        if (pending.length === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (pending.length) fail(`tasks stuck pending: ${pending.join(', ')}`);
      // Resumable: the same operation, run again without a crash, succeeds and reads right.
      if (!completed) {
        try {
          const again = await operate(w, op, rng);
          await again.settle(w);
          for (const [uuid, want] of w.expected) {
            const got = await digestOf(w.api, uuid);
            if (got !== want) fail(`after the retry, VDI ${uuid} reads ${got ?? 'nothing'}, expected ${want.slice(0, 12)}`);
          }
        } catch (e) {
          fail(`not resumable: ${op} again failed: ${(e as Error).message}`);
        }
      }
      // No orphan files and no record without its file, once collected.
      try {
        await w.api.callAsync('SR.islet_gc', w.sr);
        const recs = (await w.api.call('VDI.get_all_records')) as Record<string, { SR: string; uuid: string; managed: boolean }>;
        const srRef = w.sr;
        const known = new Set(Object.values(recs).filter((r) => r.SR === srRef).map((r) => `${r.uuid}.vhd`));
        const files = (await readdir(w.srPath)).filter((f) => f.endsWith('.vhd') || f.endsWith('.tmp'));
        const orphans = files.filter((f) => !known.has(f));
        const dangling = [...known].filter((f) => !files.includes(f));
        if (orphans.length) fail(`orphan files: ${orphans.join(', ')}`);
        if (dangling.length) fail(`records without a file: ${dangling.join(', ')}`);
      } catch (e) {
        fail(`collecting after recovery failed: ${(e as Error).message}`);
      }
      if (failures.length > before) failedTrials++;
      if (progress) process.stderr.write(`${label}: ${failures.length > before ? `FAILED ${failures.slice(before).join('; ')}` : 'ok'}\n`);
    }
  } finally {
    (w?.api ?? api).close();
    await (w?.islet ?? islet).stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    await updates.close();
  }
  return { failures, failedTrials, summary: `${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}; killed: ${[...victims].map(([k, v]) => `${k} ${v}`).join(', ')}; ${died} died mid-operation` };
}
