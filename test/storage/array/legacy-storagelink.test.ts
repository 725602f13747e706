/**
 * @module
 * Reading the StorageLink Gateway's layout: NetApp LUN names (`<uuid with _>[_snapNN|_cloneNN]`),
 * Islet's EqualLogic equivalent (`xs-<8 hex>-<uuid>[-cloneNN]`, snapshots `<volume>-snapNN`),
 * the record kept in a comment or description, and the uuid a VDI gets from them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LEGACY_FLEXVOL, derivedUuid, formatLegacyRecord, isLegacyEqlSnapshot, legacyEqlSnapshot, legacyEqlVolume, legacyLunName,
  legacyVdiUuid, parseLegacyEqlVolume, parseLegacyLunName, parseLegacyRecord,
} from '../../../src/storage/array/legacy-storagelink.js';

const U = 'd46a7dab-bfd5-476d-995b-d8c393e8bbbb';
const SR = '4dffd427-d61c-4db1-9fec-5e330a079a6f';

describe('legacy StorageLink layout', () => {
  it('reads NetApp LUN names as the gateway wrote them', () => {
    assert.deepEqual(parseLegacyLunName('d46a7dab_bfd5_476d_995b_d8c393e8bbbb'), { baseUuid: U, kind: 'disk' });
    assert.deepEqual(parseLegacyLunName('d46a7dab_bfd5_476d_995b_d8c393e8bbbb_clone00'), { baseUuid: U, kind: 'clone', index: 0 });
    assert.deepEqual(parseLegacyLunName('d46a7dab_bfd5_476d_995b_d8c393e8bbbb_snap01'), { baseUuid: U, kind: 'snapshot', index: 1 });
    for (const bad of [U, 'd46a7dab_bfd5_476d_995b_d8c393e8bbbb_snap', 'x_d46a7dab_bfd5_476d_995b_d8c393e8bbbb', 'lun0']) assert.equal(parseLegacyLunName(bad), undefined, bad);
    assert.equal(legacyLunName(U, 'snapshot', 1), 'd46a7dab_bfd5_476d_995b_d8c393e8bbbb_snap01');
    assert.ok(LEGACY_FLEXVOL.test('Berlin_storage__91a1818a'));
    assert.ok(!LEGACY_FLEXVOL.test('islet_4dffd427_d61c_4db1_9fec_5e330a079a6f'));
  });

  it('reads EqualLogic volume and snapshot names of one SR only', () => {
    const vol = legacyEqlVolume(SR, U);
    assert.equal(vol, `xs-4dffd427-${U}`);
    assert.deepEqual(parseLegacyEqlVolume(SR, vol), { baseUuid: U, kind: 'disk' });
    assert.deepEqual(parseLegacyEqlVolume(SR, legacyEqlVolume(SR, U, 3)), { baseUuid: U, kind: 'clone', index: 3 });
    assert.equal(parseLegacyEqlVolume('11111111-d61c-4db1-9fec-5e330a079a6f', vol), undefined, 'another SR\'s volume');
    assert.equal(parseLegacyEqlVolume(SR, `islet-4dffd427-${U}`), undefined);
    assert.ok(isLegacyEqlSnapshot(vol, legacyEqlSnapshot(vol, 0)));
    assert.ok(!isLegacyEqlSnapshot(vol, `${vol}-2011-03-14-09:30:00.1`));
  });

  it('keeps what the gateway stored in the free-text field, and nothing from other text', () => {
    const text = formatLegacyRecord({ uuid: U, nameLabel: 'web root & more', nameDescription: 'a=b', snapshotTime: '20110314T09:30:00Z' });
    assert.deepEqual(parseLegacyRecord(text), { uuid: U, nameLabel: 'web root & more', nameDescription: 'a=b', snapshotTime: '20110314T09:30:00Z' });
    assert.deepEqual(parseLegacyRecord('StorageLink SR Legacy_storage'), {});
    assert.deepEqual(parseLegacyRecord('islet:ro'), {});
    assert.deepEqual(parseLegacyRecord('uuid=not-a-uuid&time=yesterday&name=x'), { nameLabel: 'x' });
  });

  it('gives a VDI the stored uuid, else its name\'s (disks), else one derived from the array identity', () => {
    assert.equal(legacyVdiUuid({ baseUuid: U, kind: 'snapshot' }, { uuid: SR }, 'id'), SR);
    assert.equal(legacyVdiUuid({ baseUuid: U, kind: 'disk' }, {}, 'id'), U);
    const d = legacyVdiUuid({ baseUuid: U, kind: 'snapshot' }, {}, 'NETAPP__LUN__0A50E2F6__41');
    assert.match(d, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(d, derivedUuid('NETAPP__LUN__0A50E2F6__41'), 'the same wherever it is computed');
    assert.notEqual(d, derivedUuid('NETAPP__LUN__0A50E2F6__42'));
  });
});
