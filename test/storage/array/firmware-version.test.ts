/**
 * @module
 * Firmware versions are numbers: every form the arrays print parses to the same tuple,
 * ordering is numeric (10.0.3 after 9.x, 5.10 after 5.9), and the support policy refuses
 * only what is older than supported, warning on what is newer than tested.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  EQUALLOGIC_FIRMWARE, checkFirmware, compareFirmware, formatFirmware, parseFirmwareVersion, requireFirmwareVersion,
} from '../../../src/storage/array/firmware-version.js';

describe('firmware version parser', () => {
  const cases: Array<[string, [number, number, number, number], number | undefined]> = [
    ['V5.1.1', [5, 1, 1, 0], undefined],
    ['5.2.0 (R212345)', [5, 2, 0, 0], 212345],
    ['V5.2.0 (R212345)', [5, 2, 0, 0], 212345],
    ['6.0.5-H1', [6, 0, 5, 1], undefined],
    ['7.1.12', [7, 1, 12, 0], undefined],
    ['10.0.3', [10, 0, 3, 0], undefined],
    ['Storage Array Firmware V10.0.3 (R123)', [10, 0, 3, 0], 123],
    ['NetApp Release 9.8P4: Mon Feb 1 2021', [9, 8, 0, 4], undefined],
    ['  v6.0  ', [6, 0, 0, 0], undefined],
  ];
  for (const [text, tuple, build] of cases) {
    it(`reads ${JSON.stringify(text)}`, () => {
      const v = requireFirmwareVersion(text);
      assert.deepEqual([v.major, v.minor, v.patch, v.hotfix], tuple);
      assert.equal(v.build, build);
      for (const n of [v.major, v.minor, v.patch, v.hotfix]) assert.equal(typeof n, 'number');
    });
  }

  it('finds no version where there is none', () => {
    assert.equal(parseFirmwareVersion('no version here'), undefined);
    assert.equal(parseFirmwareVersion(''), undefined);
    assert.throws(() => requireFirmwareVersion('garbage'), /cannot read a firmware version/);
  });

  it('orders numerically, never as strings', () => {
    assert.ok(compareFirmware('10.0.3', '5.1.1') > 0, '10 > 5 although "1" < "5"');
    assert.ok(compareFirmware('5.10.0', '5.9.9') > 0);
    assert.ok(compareFirmware('5.2.0 (R1)', 'V5.1.1') > 0);
    assert.ok(compareFirmware('6.0.5-H1', '6.0.5') > 0);
    assert.ok(compareFirmware('7.1.12', '7.1.2') > 0);
    assert.equal(compareFirmware('V5.2.0 (R9)', '5.2.0 (R1)'), 0, 'the build number is not part of the order');
  });

  it('orders any two generated versions as their tuples', () => {
    const part = fc.integer({ min: 0, max: 999 });
    fc.assert(fc.property(fc.tuple(part, part, part, part), fc.tuple(part, part, part, part), (a, b) => {
      const text = (t: number[]) => `V${t[0]}.${t[1]}.${t[2]}${t[3] ? `-H${t[3]}` : ''}`;
      const expected = Math.sign(a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]! || a[3]! - b[3]!);
      assert.equal(Math.sign(compareFirmware(text(a), text(b))), expected);
      assert.equal(formatFirmware(requireFirmwareVersion(text(a))), text(a).slice(1));
    }));
  });
});

describe('EqualLogic firmware policy', () => {
  for (const v of ['5.0.7', 'V5.1.1', '5.2.0 (R212345)', '6.0.5-H1', '7.1.12']) {
    it(`supports ${v} without a warning`, () => {
      const r = checkFirmware(v, EQUALLOGIC_FIRMWARE);
      assert.equal(r.ok, true);
      assert.equal(r.ok && r.warning, undefined);
    });
  }
  it('supports 10.0.3 with a warning naming both versions', () => {
    const r = checkFirmware('10.0.3', EQUALLOGIC_FIRMWARE);
    assert.ok(r.ok);
    assert.match(r.warning ?? '', /10\.0\.3.*newer than 7\.1\.12/);
  });
  it('refuses firmware older than 5.0 and unreadable text, saying why', () => {
    const old = checkFirmware('V4.3.7', EQUALLOGIC_FIRMWARE);
    assert.equal(old.ok, false);
    assert.match(!old.ok ? old.reason : '', /4\.3\.7 is older than 5\.0\.0/);
    const none = checkFirmware('unknown', EQUALLOGIC_FIRMWARE);
    assert.equal(none.ok, false);
  });
});
