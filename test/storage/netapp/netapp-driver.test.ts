/**
 * The `netapp` driver's own rules beyond the SR contract: thin settings changed by hand on
 * the array are set again (and read back) when the SR is attached; the SR is the array's
 * identity, not its address (a new address for the same array works, another array's
 * storageSystemId is refused); sm_config carries the LUN's identity; no password in errors.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { toWireError } from '../../../src/core/wire-errors.js';
import { StorageError } from '../../../src/core/ports/storage-errors.js';
import { defaultVolumeName } from '../../../src/storage/netapp/netapp-config.js';
import { MiB, volumeByName } from '../../sims/ontap-sim-helpers.js';
import { netappFixture, type NetappFixture } from './netapp-fixture.js';

describe('netapp driver', () => {
  let f: NetappFixture;
  const srUuid = randomUUID();
  before(async () => {
    f = await netappFixture();
    await f.driver.create(srUuid, f.deviceConfig, {});
  });
  after(async () => {
    await f.cleanup();
  });

  it('sets drifted thin settings again on attach and reads them back', async () => {
    const vol = await volumeByName(f.sim.client, defaultVolumeName(srUuid));
    await f.sim.client.patch(`/api/storage/volumes/${vol.uuid}`, { space: { fractional_reserve: 100 }, snapshot_policy: { name: 'default' } });
    const sr = await f.driver.attach(srUuid, f.deviceConfig);
    const after = (await volumeByName(f.sim.client, defaultVolumeName(srUuid))) as Record<string, any>;
    assert.equal(after.space.fractional_reserve, 0);
    assert.equal(after.snapshot_policy.name, 'none');
    await sr.detach();
  });

  it('is the array\'s identity, not its address: another address of the same array works, another array does not', async () => {
    const sr = await f.driver.attach(srUuid, { ...f.deviceConfig, target: 'localhost' });
    const st = await sr.stat();
    assert.match(st.identity, /^NETAPP__LUN__[0-9A-F]{8}\/aggr1\/islet_/);
    await sr.detach();
    await assert.rejects(f.driver.attach(srUuid, { ...f.deviceConfig, storageSystemId: 'NETAPP__LUN__00000001' }),
      (e) => e instanceof StorageError && toWireError(e).code === 'SR_BACKEND_FAILURE_47' && /not the configured storageSystemId/.test(toWireError(e).params[1]!));
  });

  it('gives each VDI the LUN identity in sm_config and keeps thin clones of thin disks', async () => {
    const sr = await f.driver.attach(srUuid, f.deviceConfig);
    try {
      const uuid = randomUUID();
      const v = await sr.vdiCreate({ uuid, virtualSize: 8 * MiB, allocation: 'thin' });
      const lun = f.sim.sim.array.state.luns.find((l) => l.name === uuid)!;
      assert.equal(v.smConfig.SVID, `${(await sr.stat()).identity.split('/')[0]}__${Buffer.from(lun.serial).toString('hex').toUpperCase()}`);
      assert.equal(v.smConfig['netapp-lun-serial'], lun.serial);
      const c = await sr.vdiClone(uuid, randomUUID());
      assert.equal(c.created.allocation, 'thin');
      assert.equal(f.sim.sim.array.state.luns.find((l) => l.name === c.created.uuid)!.guaranteeRequested, false);
      await assert.rejects(sr.vdiCreate({ uuid: randomUUID(), virtualSize: 8 * MiB, allocation: 'thick' }), (e) => e instanceof StorageError && /thick SR/.test(toWireError(e).params[1]!));
    } finally {
      await sr.detach();
    }
  });

  it('never puts the password in an error', async () => {
    await assert.rejects(f.driver.attach(srUuid, { ...f.deviceConfig, password: 'S3cret-wrong' }), (e) => {
      assert.ok(e instanceof StorageError && toWireError(e).code === 'SR_BACKEND_FAILURE_47');
      assert.doesNotMatch(JSON.stringify(toWireError(e).params), /S3cret-wrong/);
      return true;
    });
  });
});
