/**
 * @module
 * The simulated EqualLogic group enforces the array's rules, seen through Islet's own
 * SSH adapter (and a raw shell where the terminal behaviour itself is the point): prompt
 * and settings, `% Error` lines, thin volumes whose reserve starts at thin-min-reserve and
 * grows with what is written, the pool's free space, snapshot reserve and delete-oldest,
 * offline-before-delete and snapshots deleted with their volume, access records, and a
 * group that keeps everything across a restart on a new address.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2 from 'ssh2';

const { Client, utils } = ssh2;
import { newHostKey, startEqualLogicSim, type RunningEqualLogicSim } from '../../../sims/equallogic/equallogic-sim.js';
import { EqlClient } from '../../../src/storage/equallogic/eql-client.js';
import { EqlError } from '../../../src/storage/equallogic/eql-errors.js';
import { startEqlSimProcess } from '../../helpers/equallogic-sim-process.js';
import { assertFailedStartLeavesNothing } from '../../helpers/failed-start.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

async function start(dir: string, host = '127.0.0.1', firmware = '5.2.0 (R212345)', poolSize = 100 * GiB): Promise<RunningEqualLogicSim> {
  return startEqualLogicSim({ ssh: { host, port: 0 }, username: 'grpadmin', password: 'secret', groupName: 'eqlgrp', pools: [{ name: 'default', size: poolSize }], firmware, dataDir: dir });
}

function client(sim: RunningEqualLogicSim, password = 'secret'): EqlClient {
  return new EqlClient({ host: sim.sshAddress.address, port: sim.sshAddress.port, username: 'grpadmin', password, timeoutMs: 10_000 });
}

/** A raw shell: what a terminal user sees, as one string, after sending `lines`. */
async function rawShell(sim: RunningEqualLogicSim, steps: string[], settle: RegExp): Promise<string> {
  const c = new Client();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { c.end(); reject(new Error(`raw shell saw no ${settle} within 10 s`)); }, 10_000);
    c.on('error', reject);
    c.on('ready', () => c.shell({ cols: 80, rows: 24 }, (err, ch) => {
      if (err) return reject(err);
      let out = '';
      let sent = 0;
      ch.on('data', (d: Buffer) => {
        out += d.toString();
        if (/> $|\(y\/n\) \[n\] $|\(Q to quit\)$/.test(out) && sent < steps.length) ch.write(steps[sent++]!);
        else if (sent === steps.length && settle.test(out)) { clearTimeout(timer); c.end(); resolve(out); }
      });
    }));
    c.connect({ host: sim.sshAddress.address, port: sim.sshAddress.port, username: 'grpadmin', password: 'secret' });
  });
}

describe('EqualLogic simulator', () => {
  const dirs: string[] = [];
  const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'eql-sim-test-')); dirs.push(d); return d; };
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('greets with the group prompt, echoes, and reports firmware and group by field', async () => {
    const sim = await start(tmp());
    const eql = client(sim);
    try {
      const info = await eql.groupInfo();
      assert.equal(info.groupName, 'eqlgrp');
      assert.equal(info.firmware, 'V5.2.0 (R212345)');
      assert.equal(info.address, '127.0.0.1');
      const raw = await rawShell(sim, ['volume show\r'], /Name\s+Size[\s\S]*eqlgrp> $/);
      assert.match(raw, /Welcome to Group Manager/);
      assert.match(raw, /eqlgrp> volume show\r\n/, 'the command is echoed as a terminal does');
    } finally { eql.close(); await sim.close(); }
  });

  it('refuses a wrong password with an auth error', async () => {
    const sim = await start(tmp());
    const eql = client(sim, 'wrong');
    try {
      await assert.rejects(eql.run('volume show'), (e: unknown) => e instanceof EqlError && e.kind === 'auth' && /refused the login/.test(e.message));
    } finally { eql.close(); await sim.close(); }
  });

  it('turns % Error lines into typed errors with the array text', async () => {
    const sim = await start(tmp());
    const eql = client(sim);
    try {
      await assert.rejects(eql.volume('nope'), (e: unknown) => e instanceof EqlError && e.kind === 'cli' && /Volume nope does not exist/.test(e.message));
      await assert.rejects(eql.run('frobnicate'), /% Error - Unknown command frobnicate/);
    } finally { eql.close(); await sim.close(); }
  });

  it('keeps thin reserve at 10% until writes grow in-use, and charges the pool for reserves', async () => {
    const sim = await start(tmp(), '127.0.0.1', '7.1.12', 10 * GiB);
    const eql = client(sim);
    try {
      await eql.createVolume({ name: 'thin1', sizeMiB: 1000, pool: 'default', thin: true, snapReservePct: 0 });
      let v = await eql.volume('thin1');
      assert.equal(v.size, 1000 * MiB);
      assert.equal(v.reserve, 100 * MiB);
      assert.equal(v.inUse, 0);
      assert.equal(v.thin, true);
      const storeId = sim.group.volume('thin1').storeId;
      await sim.store.write(storeId, 0, Buffer.alloc(200 * MiB, 7));
      v = await eql.volume('thin1');
      assert.equal(v.inUse, 200 * MiB, 'in-use is what was written');
      assert.equal(v.reserve, 200 * MiB, 'the reserve grew with in-use');
      assert.equal((await eql.poolInfo('default')).free, 10 * GiB - 200 * MiB);
      await eql.createVolume({ name: 'thick1', sizeMiB: 2048, pool: 'default', thin: false, snapReservePct: 0 });
      assert.equal((await eql.poolInfo('default')).free, 10 * GiB - 200 * MiB - 2 * GiB);
      await assert.rejects(eql.createVolume({ name: 'toobig', sizeMiB: 9000, pool: 'default', thin: false }), /Not enough free space in pool default/);
      assert.deepEqual((await eql.volumeNames()).sort(), ['thick1', 'thin1']);
    } finally { eql.close(); await sim.close(); }
  });

  it('snapshots share blocks, draw on the snapshot reserve, and go with their volume', async () => {
    const sim = await start(tmp());
    const eql = client(sim);
    try {
      await eql.createVolume({ name: 'v1', sizeMiB: 100, pool: 'default', thin: true });
      const id = sim.group.volume('v1').storeId;
      await sim.store.write(id, 0, Buffer.alloc(4 * MiB, 1));
      await eql.snapshot('v1', 'snapA');
      assert.deepEqual((await eql.snapshots('v1')).map((s) => s.name), ['snapA']);
      const snapId = sim.group.snapshot(sim.group.volume('v1'), 'snapA').storeId;
      assert.equal(sim.group.snapInUse(sim.group.volume('v1')), 0, 'a new snapshot holds nothing of its own');
      await sim.store.write(id, 0, Buffer.alloc(MiB, 2));
      assert.equal(sim.group.snapInUse(sim.group.volume('v1')), MiB, 'overwritten blocks move to snapshot space');
      assert.equal((await sim.store.read(snapId, 0, 1))[0], 1, 'the snapshot keeps the old content');
      await assert.rejects(eql.run('volume delete v1'), /is online/);
      await eql.deleteVolume('v1');
      assert.equal(sim.store.has(snapId), false, 'deleting a volume deletes its snapshots');
      assert.deepEqual(await eql.volumeNames(), []);
    } finally { eql.close(); await sim.close(); }
  });

  it('deletes the oldest snapshot when the snapshot reserve runs out (delete-oldest)', async () => {
    const sim = await start(tmp());
    const eql = client(sim);
    try {
      await eql.createVolume({ name: 'v2', sizeMiB: 20, pool: 'default', thin: false, snapReservePct: 10 });
      const id = sim.group.volume('v2').storeId;
      await sim.store.write(id, 0, Buffer.alloc(4 * MiB, 1));
      await eql.snapshot('v2', 'old');
      await eql.snapshot('v2', 'new');
      await sim.store.write(id, 0, Buffer.alloc(4 * MiB, 3));
      assert.deepEqual((await eql.snapshots('v2')).map((s) => s.name), [], 'both snapshots held the overwritten 4 MB, beyond a 2 MB reserve');
      await sim.store.write(id, 0, Buffer.alloc(MiB, 4));
      await eql.snapshot('v2', 's3');
      await eql.setVolume('v2', 'snap-depletion volume-offline');
      await assert.rejects(sim.store.write(id, 0, Buffer.alloc(4 * MiB, 5)), /depleted/);
      assert.deepEqual((await eql.snapshots('v2')).map((s) => s.name), ['s3']);
    } finally { eql.close(); await sim.close(); }
  });

  it('keeps access records, parsed by column names even when the initiator wraps', async () => {
    const sim = await start(tmp());
    const eql = client(sim);
    try {
      await eql.createVolume({ name: 'v3', sizeMiB: 10, pool: 'default', thin: true });
      const iqn = 'iqn.2026-12.com.example:host-a-0123456789';
      const id = await eql.addAccess('v3', iqn, 'chapA');
      const recs = await eql.access('v3');
      assert.deepEqual(recs, [{ id, initiator: iqn, authMethod: 'chap', userName: 'chapA', applyTo: 'both' }]);
      assert.ok(sim.group.allows(sim.group.volume('v3'), 'volume', iqn, 'chapA'));
      assert.ok(!sim.group.allows(sim.group.volume('v3'), 'volume', 'iqn.other', 'chapA'));
      await eql.deleteAccess('v3', id);
      assert.deepEqual(await eql.access('v3'), []);
    } finally { eql.close(); await sim.close(); }
  });

  it('asks before deleting and pages long output until told otherwise', async () => {
    const sim = await start(tmp());
    const eql = client(sim);
    try {
      for (let i = 0; i < 25; i++) await eql.createVolume({ name: `p${i}`, sizeMiB: 1, pool: 'default', thin: true });
      const paged = await rawShell(sim, ['volume show\r', 'q'], /Press any key[\s\S]*eqlgrp> $/);
      assert.match(paged, /Press any key to continue \(Q to quit\)/);
      const asked = await rawShell(sim, ['volume select p0 offline\r', 'volume delete p0\r', 'n\r'], /\(y\/n\) \[n\] n\r\n[\s\S]*eqlgrp> $/);
      assert.match(asked, /Do you really want to delete the volume\?/);
      assert.ok((await eql.volumeNames()).includes('p0'), 'answering n keeps the volume');
    } finally { eql.close(); await sim.close(); }
  });

  it('keeps every volume, snapshot and setting across a restart on a new address', async () => {
    const dir = tmp();
    let sim = await start(dir);
    let eql = client(sim);
    await eql.createVolume({ name: 'keep', sizeMiB: 50, pool: 'default', thin: true });
    await sim.store.write(sim.group.volume('keep').storeId, 0, Buffer.alloc(MiB, 9));
    await sim.store.flush();
    await eql.snapshot('keep', 'k1');
    const before = await eql.volume('keep');
    eql.close();
    await sim.close();
    sim = await start(dir, '127.0.0.2', '10.0.3');
    eql = client(sim);
    try {
      const info = await eql.groupInfo();
      assert.equal(info.address, '127.0.0.2');
      assert.equal(info.firmware, 'V10.0.3');
      assert.deepEqual(await eql.volume('keep'), before);
      assert.deepEqual((await eql.snapshots('keep')).map((s) => s.name), ['k1']);
      assert.equal((await sim.store.read(sim.group.volume('keep').storeId, 0, 1))[0], 9);
    } finally { eql.close(); await sim.close(); }
  });

  it('a session dropped mid-command fails that command as dropped and the next one reconnects', async () => {
    const sim = await start(tmp());
    const eql = client(sim);
    try {
      sim.ssh.dropOn.push(/clone dropped$/);
      await eql.createVolume({ name: 'src', sizeMiB: 10, pool: 'default', thin: true });
      await assert.rejects(eql.cloneVolume('src', 'dropped'), (e: unknown) => e instanceof EqlError && e.kind === 'dropped' && /outcome on the array is unknown/.test(e.message));
      assert.ok((await eql.volumeNames()).includes('dropped'), 'the array did the clone; only the answer was lost');
    } finally { eql.close(); await sim.close(); }
  });

  it('runs as `islet sim equallogic`, printing ready ssh://ADDR:PORT, and restarts on a new address keeping its volumes', async () => {
    const dir = tmp();
    let p = await startEqlSimProcess({ dataDir: dir, firmware: '6.0.5-H1', groupName: 'procgrp' });
    let eql = new EqlClient({ host: p.host, port: p.port, username: 'grpadmin', password: 'eqlsecret', timeoutMs: 10_000 });
    try {
      assert.equal((await eql.groupInfo()).firmware, 'V6.0.5-H1');
      await eql.createVolume({ name: 'moved', sizeMiB: 64, pool: 'default', thin: true });
    } finally { eql.close(); await p.stop(); }
    p = await startEqlSimProcess({ dataDir: dir, host: '127.0.0.2', groupName: 'procgrp' });
    eql = new EqlClient({ host: p.host, port: p.port, username: 'grpadmin', password: 'eqlsecret', timeoutMs: 10_000 });
    try {
      assert.equal(p.host, '127.0.0.2');
      assert.equal((await eql.volume('moved')).size, 64 * MiB);
    } finally { eql.close(); await p.stop(); }
  });

  it('islet sim equallogic without --data-dir removes the directory it made when stopped', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'eql-tmp-check-'));
    try {
      const p = await startEqlSimProcess({ tmpDir: tmp });
      const eql = new EqlClient({ host: p.host, port: p.port, username: 'grpadmin', password: 'eqlsecret', timeoutMs: 10_000 });
      try {
        await eql.createVolume({ name: 'scratch', sizeMiB: 64, pool: 'default', thin: true });
        assert.deepEqual(readdirSync(tmp).map((d) => d.replace(/-.*/, '')), ['eql'], 'one directory while it runs');
      } finally { eql.close(); await p.stop(); }
      assert.equal(p.child.signalCode, null, 'it stopped on SIGTERM by itself, not killed');
      assert.deepEqual(readdirSync(tmp), [], 'nothing is left once it has stopped');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('the simulator\'s SSH host key', () => {
  // ssh2's own generator makes about one key in 300 that its parser refuses, which failed a
  // simulator's start now and then; 3,000 keys would meet such a one almost surely.
  it('every key it makes is one ssh2 loads', () => {
    for (let i = 0; i < 3000; i++) {
      const parsed = utils.parseKey(newHostKey());
      assert.ok(!(parsed instanceof Error), `key ${i}: ${parsed instanceof Error ? parsed.message : ''}`);
    }
  });
});

describe('a simulator start that fails part-way', () => {
  it('closes the portal and store it had opened (SSH port taken)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eql-failstart-'));
    try {
      await assertFailedStartLeavesNothing((port) => startEqualLogicSim({
        ssh: { host: '127.0.0.1', port }, iscsi: { host: '127.0.0.1', port: 0 }, username: 'grpadmin', password: 'secret',
        groupName: 'eqlgrp', pools: [{ name: 'default', size: GiB }], firmware: '5.2.0 (R212345)', dataDir: dir,
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
