/**
 * Re-attaching a NetApp SR as XenServer's upgrade path does (hotfix items 3 and 7): the SR
 * is forgotten, introduced again under its uuid, and given a PBD whose `target` is a new
 * address of the same array and whose password is a `secret`; scanning brings back every
 * VDI under the uuid users hold, with its content. A PBD that reaches another array (by
 * `storageSystemId`) is refused with a clear error. One `islet server`, `islet sim ontap`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOntapSimProcess, type OntapSimProcess } from '../../helpers/ontap-sim-process.js';
import { exportDigest, importImage, pattern, sha256, startStorageFixture, type StorageFixture } from '../acceptance/storage-fixture.js';

const MiB = 1024 * 1024;

describe('NetApp SR re-attached after forget, at a new address, with password_secret', { timeout: 600_000 }, () => {
  let sim: OntapSimProcess;
  let f: StorageFixture;
  before(async () => {
    sim = await startOntapSimProcess({ aggregates: ['aggr1:10G'], iscsi: true });
    f = await startStorageFixture();
  });
  after(async () => {
    await f?.close();
    await sim?.stop();
  });

  it('keeps every VDI uuid and its content; another array is refused', async () => {
    const dc = (target: string, extra: Record<string, string> = {}) => Object.entries({
      target, port: String(sim.port), username: sim.username, storagePoolId: 'aggr1', sslfingerprint: sim.fingerprint, ...extra,
    }).map(([k, v]) => `device-config:${k}=${v}`);
    const srUuid = await f.xeOk('sr-create', 'type=netapp', 'shared=true', 'name-label=na', 'content-type=user', ...dc('127.0.0.1', { password: sim.password }));
    const vdiUuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=keep', 'type=user', `virtual-size=${8 * MiB}`);
    const vdi = String(await f.api.call('VDI.get_by_uuid', vdiUuid));
    const content = Buffer.alloc(8 * MiB);
    pattern(7, 3 * MiB).copy(content, MiB);
    await importImage(f.api, vdi, content);
    assert.equal((await exportDigest(f.api, vdi)).sha, sha256(content));

    const pbd = await f.xeOk('pbd-list', `sr-uuid=${srUuid}`, 'params=uuid', '--minimal');
    await f.xeOk('pbd-unplug', `uuid=${pbd}`);
    await f.xeOk('sr-forget', `uuid=${srUuid}`);
    await f.xeOk('sr-introduce', `uuid=${srUuid}`, 'type=netapp', 'shared=true', 'name-label=na again', 'content-type=user');
    const host = await f.xeOk('host-list', 'params=uuid', '--minimal');
    const secretRef = String(await f.api.call('secret.create', { value: sim.password, other_config: {} }));
    const secret = String(await f.api.call('secret.get_uuid', secretRef));

    const wrong = await f.xeOk('pbd-create', `host-uuid=${host}`, `sr-uuid=${srUuid}`, ...dc('localhost', { password_secret: secret, storageSystemId: 'NETAPP__LUN__00000001' }));
    const refused = await f.xe('pbd-plug', `uuid=${wrong}`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out + refused.err, /NETAPP__LUN__00000001/);
    await f.xeOk('pbd-destroy', `uuid=${wrong}`);

    const moved = await f.xeOk('pbd-create', `host-uuid=${host}`, `sr-uuid=${srUuid}`, ...dc('localhost', { password_secret: secret }));
    await f.xeOk('pbd-plug', `uuid=${moved}`);
    await f.xeOk('sr-scan', `uuid=${srUuid}`);
    const again = String(await f.api.call('VDI.get_by_uuid', vdiUuid));
    assert.equal((await exportDigest(f.api, again)).sha, sha256(content));
    const sm = (await f.api.call('VDI.get_sm_config', again)) as Record<string, string>;
    assert.match(sm.SVID ?? '', /^NETAPP__LUN__[0-9A-F]{8}__[0-9A-F]{24}$/);
  });
});
