/**
 * @module
 * Hotfix item (7): changing the array's IP address and re-attaching the SR crashed it.
 * Through a real two-host pool and `bin/xe`: an `equallogic` SR with two disks holding
 * data; the simulated group is stopped and started again on another loopback address
 * (same data directory); the PBDs (unplugged with the old address unreachable) are
 * destroyed and made again with the new `target`; the SR plugs on both hosts and every
 * disk reads the same bytes over NBD (sha256). A PBD pointing at a second group with
 * another name is refused with an error naming both identities, and the SR stays usable.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pattern } from '../sr-driver.contract.js';
import { deviceConfig, missingNbdTools, startEqlPool, type EqlPool } from './eql-pool-fixture.js';

const MiB = 1024 * 1024;
const missing = await missingNbdTools();

describe('(7) EqualLogic group address change and re-attach', { skip: missing.length ? `missing ${missing.join(', ')}` : false, timeout: 600_000 }, () => {
  let p: EqlPool;
  let groupDir: string;
  before(async () => {
    p = await startEqlPool();
    groupDir = await mkdtemp(join(tmpdir(), 'eql-group-'));
  });
  after(async () => {
    await p?.close();
    if (groupDir) await rm(groupDir, { recursive: true, force: true });
  });

  it('re-creates the PBDs with the new target: the SR plugs and every disk is unchanged; another group is refused', async () => {
    let sim = await p.sim({ host: '127.0.0.1', dataDir: groupDir, groupName: 'movinggrp' });
    const sr = await p.createSr(sim, 'moving');
    const disks: string[] = [];
    for (let i = 0; i < 2; i++) {
      const vdi = await p.xeOk('vdi-create', `sr-uuid=${sr}`, `name-label=d${i}`, 'virtual-size=16MiB', 'type=user');
      await p.nbdWrite(vdi, 16 * MiB, [{ offset: i * MiB, data: pattern(2 * MiB, 70 + i) }, { offset: 12 * MiB, data: pattern(4096, 80 + i) }]);
      disks.push(vdi);
    }
    const before: string[] = [];
    for (const d of disks) before.push(await p.nbdHash(d));

    // The group moves: old address gone, same group on 127.0.0.2.
    await sim.stop();
    sim = await p.sim({ host: '127.0.0.2', dataDir: groupDir, groupName: 'movinggrp' });
    const pbds = (await p.xeOk('pbd-list', `sr-uuid=${sr}`, '--minimal')).split(',');
    for (const pbd of pbds) await p.xeOk('pbd-unplug', `uuid=${pbd}`);
    for (const pbd of pbds) await p.xeOk('pbd-destroy', `uuid=${pbd}`);
    const hostUuids = (await p.xeOk('host-list', '--minimal')).split(',');
    for (const h of hostUuids) {
      const pbd = await p.xeOk('pbd-create', `host-uuid=${h}`, `sr-uuid=${sr}`, ...deviceConfig(sim));
      await p.xeOk('pbd-plug', `uuid=${pbd}`);
    }
    assert.deepEqual((await p.xeOk('pbd-list', `sr-uuid=${sr}`, 'params=currently-attached', '--minimal')).split(','), ['true', 'true']);
    assert.deepEqual((await p.xeOk('vdi-list', `sr-uuid=${sr}`, 'params=uuid', '--minimal')).split(',').sort(), [...disks].sort());
    for (let i = 0; i < disks.length; i++) assert.equal(await p.nbdHash(disks[i]!), before[i], `disk ${i} unchanged after the move`);

    // A second group with another name, reached by a PBD of this SR: refused, naming both.
    const other = await p.sim({ host: '127.0.0.3', groupName: 'othergrp' });
    const master = hostUuids[0]!;
    const masterPbd = await p.xeOk('pbd-list', `sr-uuid=${sr}`, `host-uuid=${master}`, '--minimal');
    await p.xeOk('pbd-unplug', `uuid=${masterPbd}`);
    await p.xeOk('pbd-destroy', `uuid=${masterPbd}`);
    const wrong = await p.xeOk('pbd-create', `host-uuid=${master}`, `sr-uuid=${sr}`, ...deviceConfig(other));
    const r = await p.xe('pbd-plug', `uuid=${wrong}`);
    assert.notEqual(r.code, 0, 'plugging a PBD that reaches another group fails');
    const text = r.out + r.err;
    assert.match(text, /ARRAY_IDENTITY_MISMATCH/);
    assert.match(text, /movinggrp pool default/, 'names the SR\'s group');
    assert.match(text, /othergrp pool default/, 'names the group reached');
    assert.equal(await p.xeOk('pbd-param-get', `uuid=${wrong}`, 'param-name=currently-attached'), 'false');
    assert.equal((await other.child.exitCode), null, 'the other group is untouched and running');

    // Pointing it back at the right group works again; the disks are still intact.
    await p.xeOk('pbd-destroy', `uuid=${wrong}`);
    const right = await p.xeOk('pbd-create', `host-uuid=${master}`, `sr-uuid=${sr}`, ...deviceConfig(sim));
    await p.xeOk('pbd-plug', `uuid=${right}`);
    for (let i = 0; i < disks.length; i++) assert.equal(await p.nbdHash(disks[i]!), before[i]);
  });
});
