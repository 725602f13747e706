/**
 * The provisioning XML of templates (`other_config:disks`): parsed as xapi parses it, and
 * rewritten by `xe vm-install` to point every disk at the chosen SR.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProvisionXml } from '../../src/actions/vm/vm-provision.js';
import { rewriteProvisionXml } from '../../src/cli/commands/vm-install.js';
import { bytesOf } from '../../src/cli/commands/storage-params.js';

describe('provisioning XML', () => {
  const xml = '<provision><disk device="0" size="34359738368" sr="" bootable="true" type="system"/>'
    + '<disk device="1" size="1048576" sr="abc" bootable="false" type="user"></disk></provision>';

  it('parses every disk, defaulting an unknown type to system', () => {
    assert.deepEqual(parseProvisionXml(xml), [
      { device: '0', size: 34359738368, sr: '', bootable: true, type: 'system' },
      { device: '1', size: 1048576, sr: 'abc', bootable: false, type: 'user' },
    ]);
    assert.deepEqual(parseProvisionXml('<provision/>'), []);
    assert.deepEqual(parseProvisionXml('<provision><disk device="0" size="1" sr="" bootable="true" type="odd"/></provision>')[0]!.type, 'system');
  });

  it('refuses what is not a provisioning document', () => {
    assert.throws(() => parseProvisionXml('<disks/>'), /INVALID_VALUE/);
    assert.throws(() => parseProvisionXml('<provision><disk device="0" size="x" sr="" bootable="true"/></provision>'), /INVALID_VALUE/);
  });

  it('vm-install points every disk at the SR', () => {
    const out = rewriteProvisionXml(xml, 'sr-1');
    assert.deepEqual(parseProvisionXml(out).map((d) => d.sr), ['sr-1', 'sr-1']);
  });

  it('sizes take xe\'s units', () => {
    assert.equal(bytesOf('virtual-size', '10GiB'), 10 * 1024 ** 3);
    assert.equal(bytesOf('virtual-size', '512M'), 512 * 1024 ** 2);
    assert.equal(bytesOf('virtual-size', '4096'), 4096);
    assert.equal(bytesOf('virtual-size', '2 TiB'), 2 * 1024 ** 4);
    assert.throws(() => bytesOf('virtual-size', '10 parsecs'), /Failed to parse field 'virtual-size'/);
    assert.throws(() => bytesOf('virtual-size', '-1'), /Failed to parse/);
  });
});
