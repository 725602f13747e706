import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDeflateRaw } from 'node:zlib';
import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_LIMITS, SafeZip, withZip } from '../../../src/updates/package/zip-reader.js';
import { run } from './gpg-home.js';
import { rawZip, type RawEntry } from './raw-zip.js';
import { assertRefused } from './refusal.js';

const MiB = 1024 * 1024;

/** 200 MiB of zeros, deflated (about 200 KiB), streamed so the zeros never sit in memory at once. */
async function deflatedZeros(bytes: number): Promise<Buffer> {
  const d = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve, reject) => { d.on('end', resolve); d.on('error', reject); });
  const chunk = Buffer.alloc(MiB);
  for (let left = bytes; left > 0; left -= MiB) {
    if (!d.write(left >= MiB ? chunk : chunk.subarray(0, left))) await new Promise((r) => d.once('drain', r));
  }
  d.end();
  await done;
  return Buffer.concat(out);
}

describe('zip reader', () => {
  let dir: string;
  let bomb: Buffer;
  let n = 0;
  const file = async (entries: RawEntry[]) => {
    const p = join(dir, `case-${++n}.zip`);
    await writeFile(p, rawZip(entries));
    return p;
  };
  const ok = { name: 'update.json', data: Buffer.from('{}') };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-zip-'));
    bomb = await deflatedZeros(200 * MiB);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads a well-formed archive that unzip also accepts', async () => {
    const p = await file([ok, { name: 'payload/', mode: 0o040755 }, { name: 'payload/a', data: Buffer.from('hello'), method: 0 }]);
    await run('unzip', ['-tq', p]);
    await withZip(p, DEFAULT_LIMITS, async (z) => {
      assert.deepEqual([...z.files.keys()], ['update.json', 'payload/a']);
      assert.deepEqual([...z.dirs], ['payload']);
      assert.equal((await z.readEntry('payload/a', 100)).toString(), 'hello');
      const h = await z.consumeEntry('payload/a');
      assert.equal(h.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    });
  });

  const refusals: Array<[string, RawEntry[], RegExp]> = [
    ['a ../ segment', [ok, { name: 'payload/../../etc/passwd', data: Buffer.from('x') }], /"\.\." path segment/],
    ['an absolute path', [ok, { name: '/etc/passwd', data: Buffer.from('x') }], /absolute path/],
    ['a drive letter', [ok, { name: 'C:/boot.ini', data: Buffer.from('x') }], /drive letter/],
    ['a backslash', [ok, { name: 'payload\\..\\x', data: Buffer.from('x') }], /backslash/],
    ['a NUL byte', [ok, { name: Buffer.from('payload/a\0.txt', 'latin1'), data: Buffer.from('x') }], /NUL/],
    ['a non-ASCII byte', [ok, { name: Buffer.from([0x70, 0xe9]), data: Buffer.from('x') }], /printable ASCII/],
    ['an empty segment', [ok, { name: 'payload//a', data: Buffer.from('x') }], /empty path segment/],
    ['a duplicate name', [ok, { name: 'payload/a', data: Buffer.from('1') }, { name: 'payload/a', data: Buffer.from('2') }], /duplicate name/],
    ['a symlink', [ok, { name: 'payload/link', data: Buffer.from('/etc/shadow'), mode: 0o120777 }], /symbolic link/],
    ['a device', [ok, { name: 'payload/dev', mode: 0o020644 }], /not a regular file/],
    ['a symlink named like a directory', [ok, { name: 'payload/d/', mode: 0o120777 }], /symbolic link/],
    ['a file that is also a directory', [ok, { name: 'payload/a', data: Buffer.from('1') }, { name: 'payload/a/b', data: Buffer.from('2') }], /both a file and a directory/],
    ['a directory with data', [ok, { name: 'payload/d/', data: Buffer.from('x'), mode: 0o040755 }], /directory with data/],
    ['an unknown compression method', [ok, { name: 'payload/a', data: Buffer.from('x'), method: 12 as 8 }], /compression method 12/],
    ['a Unicode path field', [ok, { name: 'payload/a', data: Buffer.from('x'), extra: Buffer.from([0x75, 0x70, 1, 0, 0]) }], /Unicode/],
  ];
  for (const [what, entries, reason] of refusals) {
    it(`refuses ${what}`, async () => {
      await assertRefused(SafeZip.open(await file(entries)), 'INVALID_PATCH_WITH_LOG', reason);
    });
  }

  it('refuses a symlink made by zip --symlinks', async () => {
    const src = join(dir, 'links');
    await run('mkdir', ['-p', join(src, 'payload')]);
    await symlink('/etc/passwd', join(src, 'payload', 'passwd'));
    const p = join(dir, 'links.zip');
    await run('zip', ['-q', '-r', '--symlinks', p, 'payload'], { cwd: src });
    await assertRefused(SafeZip.open(p), 'INVALID_PATCH_WITH_LOG', /entry "payload\/passwd": is a symbolic link/);
  });

  it('refuses something that is not a zip with INVALID_PATCH', async () => {
    const p = join(dir, 'junk.xsupdate');
    await writeFile(p, 'this is not a zip archive at all');
    await assertRefused(SafeZip.open(p), 'INVALID_PATCH', /not a zip/);
  });

  it('refuses more entries than the limit before reading any', async () => {
    const p = await file([ok, { name: 'a', data: Buffer.from('1') }, { name: 'b', data: Buffer.from('2') }]);
    await assertRefused(SafeZip.open(p, { ...DEFAULT_LIMITS, maxEntries: 2 }), 'INVALID_PATCH_WITH_LOG', /3 entries/);
  });

  it('refuses an entry declared larger than the per-entry limit, and a total over the limit', async () => {
    const p = await file([ok, { name: 'a', data: Buffer.alloc(2000) }, { name: 'b', data: Buffer.alloc(2000) }]);
    await assertRefused(SafeZip.open(p, { ...DEFAULT_LIMITS, maxEntrySize: 1000 }), 'INVALID_PATCH_WITH_LOG', /"a": declares 2000 bytes/);
    await assertRefused(SafeZip.open(p, { ...DEFAULT_LIMITS, maxTotalSize: 3000 }), 'INVALID_PATCH_WITH_LOG', /in total/);
  });

  it('cuts off a zip bomb: 200 MiB of zeros declared as 1 KiB', async () => {
    assert.ok(bomb.length < MiB, 'the bomb itself is small');
    const p = await file([ok, { name: 'payload/zeros', deflated: bomb, declaredSize: 1024 }]);
    await withZip(p, DEFAULT_LIMITS, async (z) => {
      assert.equal(z.files.get('payload/zeros')!.declaredSize, 1024);
      await assertRefused(z.consumeEntry('payload/zeros'), 'INVALID_PATCH_WITH_LOG', /inflates beyond its declared 1024 bytes/);
      await assertRefused(z.readEntry('payload/zeros', 4096), 'INVALID_PATCH_WITH_LOG', /inflates beyond/);
    });
  });

  it('refuses the same bomb honestly declared, by the size limit, before inflating it', async () => {
    const p = await file([ok, { name: 'payload/zeros', deflated: bomb, declaredSize: 200 * MiB }]);
    await assertRefused(SafeZip.open(p, { ...DEFAULT_LIMITS, maxEntrySize: 16 * MiB }), 'INVALID_PATCH_WITH_LOG', /declares 209715200 bytes/);
  });

  it('refuses an entry shorter than declared', async () => {
    const p = await file([ok, { name: 'a', data: Buffer.from('abc'), declaredSize: 10 }]);
    await withZip(p, DEFAULT_LIMITS, async (z) => {
      await assertRefused(z.consumeEntry('a'), 'INVALID_PATCH_WITH_LOG', /holds 3 bytes, not the declared 10/);
    });
  });

  it('reads archives written by yazl with streamed sizes (data descriptors)', async () => {
    const z = new yazl.ZipFile();
    const { Readable } = await import('node:stream');
    z.addReadStream(Readable.from([Buffer.from('streamed')]), 'payload/s');
    const p = join(dir, 'yazl.zip');
    const done = pipeline(z.outputStream, createWriteStream(p));
    z.end();
    await done;
    await withZip(p, DEFAULT_LIMITS, async (zip) => {
      assert.equal((await zip.readEntry('payload/s', 100)).toString(), 'streamed');
    });
  });
});
