import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appliesToProduct, checkManifest, compareVersions, manifestToJson, parseManifest, type UpdateManifest,
} from '../../../src/updates/package/update-manifest.js';
import { assertRefused } from './refusal.js';

const H = 'a'.repeat(64);
const good = () => ({
  uuid: 'b6f7bfe0-b969-11e1-afa6-0800200c9a66',
  name_label: 'XS602E006',
  name_description: 'iSL fixes',
  version: '1.0',
  after_apply_guidance: ['restartHost', 'restartXAPI'],
  installation_size: 1024,
  requires: ['0e1d3c5a-9d0e-4a0f-8a51-6b1f5a7c2d11'],
  conflicts: [],
  applies_to: { product: 'XenServer', min: '6.0.2', max: '6.0.2' },
  files: [
    { path: 'payload/opt/a', sha256: H, mode: '0644' },
    { path: 'hooks/apply', sha256: H, mode: '0755', size: 12 },
  ],
});

function problems(edit: (m: Record<string, any>) => void): string {
  const m: Record<string, any> = good();
  edit(m);
  const r = checkManifest(m);
  assert.equal(r.ok, false, 'expected the manifest to be refused');
  return (r as { problems: string[] }).problems.join('; ');
}

describe('update.json', () => {
  it('accepts a complete manifest and round-trips it through manifestToJson', () => {
    const r = checkManifest(good());
    assert.ok(r.ok);
    const m = r.manifest;
    assert.equal(m.files[0]!.mode, 0o644);
    assert.equal(m.files[1]!.size, 12);
    assert.deepEqual(parseManifest(Buffer.from(manifestToJson(m))), m);
  });

  it('defaults the optional fields', () => {
    const m: Record<string, unknown> = good();
    for (const k of ['name_description', 'requires', 'conflicts', 'applies_to']) delete m[k];
    const r = checkManifest(m);
    assert.ok(r.ok);
    assert.equal(r.manifest.name_description, '');
    assert.deepEqual(r.manifest.requires, []);
    assert.equal(r.manifest.applies_to, undefined);
  });

  const cases: Array<[string, (m: Record<string, any>) => void, RegExp]> = [
    ['an unknown key', (m) => { m.conflict = []; }, /conflict: unknown key/],
    ['a missing uuid', (m) => { delete m.uuid; }, /uuid: missing/],
    ['a malformed uuid', (m) => { m.uuid = 'XS602E006'; }, /uuid: must be a lowercase uuid/],
    ['an uppercase uuid', (m) => { m.uuid = m.uuid.toUpperCase(); }, /uuid/],
    ['an empty name_label', (m) => { m.name_label = ' '; }, /name_label: empty/],
    ['control characters in name_label', (m) => { m.name_label = 'a\nb'; }, /control characters/],
    ['a version with spaces', (m) => { m.version = '1.0 beta'; }, /version/],
    ['an unknown guidance value', (m) => { m.after_apply_guidance = ['reboot']; }, /unknown value "reboot"/],
    ['a repeated guidance value', (m) => { m.after_apply_guidance = ['restartPV', 'restartPV']; }, /repeats/],
    ['guidance given as one string', (m) => { m.after_apply_guidance = 'restartHost'; }, /must be a list/],
    ['a negative installation_size', (m) => { m.installation_size = -1; }, /installation_size/],
    ['a fractional installation_size', (m) => { m.installation_size = 1.5; }, /installation_size/],
    ['installation_size as a string', (m) => { m.installation_size = '1024'; }, /installation_size/],
    ['a bad uuid in requires', (m) => { m.requires = ['x']; }, /requires: "x" is not a lowercase uuid/],
    ['the update requiring itself', (m) => { m.requires = [m.uuid]; }, /names the update itself/],
    ['an update both required and conflicting', (m) => { m.conflicts = [...m.requires]; }, /also required/],
    ['applies_to min above max', (m) => { m.applies_to = { product: 'XenServer', min: '6.1', max: '6.0.2' }; }, /min 6.1 is above max 6.0.2/],
    ['applies_to without product', (m) => { m.applies_to = { min: '6.0' }; }, /applies_to.product/],
    ['applies_to with a word version', (m) => { m.applies_to = { product: 'XenServer', min: 'six' }; }, /applies_to.min/],
    ['a file outside payload/ and hooks', (m) => { m.files[0].path = 'etc/passwd'; }, /must be under payload\//],
    ['an unknown hook', (m) => { m.files[1].path = 'hooks/postinst'; }, /must be under payload\//],
    ['a ../ path', (m) => { m.files[0].path = 'payload/../../etc/passwd'; }, /"\.\." path segment/],
    ['an absolute path', (m) => { m.files[0].path = '/payload/a'; }, /absolute path/],
    ['update.json listing itself', (m) => { m.files[0].path = 'update.json'; }, /not listed/],
    ['a file listed twice', (m) => { m.files[1] = { ...m.files[0] }; }, /listed twice/],
    ['a file and a directory of the same name', (m) => { m.files[1] = { ...m.files[0], path: 'payload/opt/a/b' }; }, /both a file and a directory/],
    ['an uppercase hash', (m) => { m.files[0].sha256 = 'A'.repeat(64); }, /sha256/],
    ['a short hash', (m) => { m.files[0].sha256 = 'abc'; }, /sha256/],
    ['a numeric mode', (m) => { m.files[0].mode = 420; }, /octal string/],
    ['a setuid mode', (m) => { m.files[0].mode = '4755'; }, /octal string/],
    ['a hook that cannot be executed', (m) => { m.files[1].mode = '0644'; }, /executable/],
    ['an unknown file key', (m) => { m.files[0].owner = 'root'; }, /files\[0\]\.owner: unknown key/],
  ];
  for (const [what, edit, reason] of cases) {
    it(`refuses ${what}`, () => assert.match(problems(edit), reason));
  }

  it('reports every problem at once', () => {
    const all = problems((m) => { m.uuid = 'x'; m.version = ''; m.files = 'none'; });
    assert.match(all, /uuid/);
    assert.match(all, /version/);
    assert.match(all, /files: must be a list/);
  });

  it('refuses bytes that are not UTF-8 JSON with INVALID_PATCH_WITH_LOG', async () => {
    await assertRefused(Promise.resolve().then(() => parseManifest(Buffer.from([0xff, 0xfe]))), 'INVALID_PATCH_WITH_LOG', /UTF-8/);
    await assertRefused(Promise.resolve().then(() => parseManifest(Buffer.from('{"uuid":'))), 'INVALID_PATCH_WITH_LOG', /not valid JSON/);
    await assertRefused(Promise.resolve().then(() => parseManifest(Buffer.from('[]'))), 'INVALID_PATCH_WITH_LOG', /JSON object/);
  });

  it('compares product versions numerically and matches applies_to', () => {
    assert.equal(compareVersions('6.0.2', '6.0.10'), -1);
    assert.equal(compareVersions('6.0', '6.0.0'), 0);
    assert.equal(compareVersions('10.0', '9.9.9'), 1);
    const r = checkManifest(good());
    assert.ok(r.ok);
    const m: UpdateManifest = r.manifest;
    assert.equal(appliesToProduct(m, 'XenServer', '6.0.2'), true);
    assert.equal(appliesToProduct(m, 'XenServer', '6.0.0'), false);
    assert.equal(appliesToProduct(m, 'XenServer', '6.1'), false);
    assert.equal(appliesToProduct(m, 'XCP-ng', '6.0.2'), false);
    assert.equal(appliesToProduct({ ...m, applies_to: { product: 'XenServer', min: '6.0' } }, 'XenServer', '8.2.1'), true);
  });
});
