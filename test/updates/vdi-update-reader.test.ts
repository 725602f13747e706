/**
 * Getting an update file back out of a disk it was written to raw: the file, then zeroes up
 * to the disk's size, read through the BlockDevice port (a raw image file here). The copy
 * must be byte for byte the file `zip` made, whether the archive ends in a zero comment
 * length, carries a comment, or ends on the disk's last byte; a disk of zeroes or of
 * something that is not a zip is refused with INVALID_UPDATE, and so is a file over the
 * limit.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/core/api-error.js';
import { FileBlockDevice } from '../../src/storage/nbd/file-block-device.js';
import { copyUpdateFromDevice } from '../../src/updates/vdi-update-reader.js';
import { run } from './package/gpg-home.js';

const MiB = 1024 * 1024;

describe('reading an update file out of a disk', () => {
  let dir: string;
  let n = 0;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'islet-vdiread-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  /** A zip made by `zip` from a few files; `comment` via `zip -z`. */
  async function makeZip(comment?: string): Promise<Buffer> {
    const src = join(dir, `src${n++}`);
    await run('mkdir', ['-p', src]);
    await writeFile(join(src, 'update.json'), '{"a":1}\n');
    await writeFile(join(src, 'data.bin'), Buffer.alloc(300_000, 7));
    const out = join(src, 'u.zip');
    await run('sh', ['-c', comment === undefined ? 'zip -q u.zip update.json data.bin' : `printf '%s' "$C" | zip -q -z u.zip update.json data.bin`], {
      cwd: src, env: { ...process.env, C: comment ?? '' },
    });
    return readFile(out);
  }

  /** A raw disk of `size` bytes holding `content` from its first byte. */
  async function disk(content: Buffer, size: number): Promise<FileBlockDevice> {
    const path = join(dir, `disk${n++}.raw`);
    const dev = await FileBlockDevice.create(path, size);
    if (content.length) await dev.write(0, content);
    await dev.flush();
    await dev.close();
    return FileBlockDevice.open(path, { readOnly: true });
  }

  async function copyOut(dev: FileBlockDevice, max = 64 * MiB): Promise<Buffer> {
    const dest = join(dir, `out${n++}`);
    try {
      const len = await copyUpdateFromDevice(dev, dest, max);
      const got = await readFile(dest);
      assert.equal(got.length, len);
      return got;
    } finally {
      await dev.close();
    }
  }

  async function refused(p: Promise<unknown>, why: RegExp): Promise<void> {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof ApiError, String(e));
      assert.equal(e.code, 'INVALID_UPDATE');
      assert.match(e.params[0]!, why);
      return true;
    });
  }

  it('copies exactly the zip written at the start of a larger disk', async () => {
    const zip = await makeZip();
    assert.equal(zip.readUInt16LE(zip.length - 2), 0, 'the archive ends in a zero comment length');
    assert.deepEqual(await copyOut(await disk(zip, 4 * MiB)), zip);
  });

  it('keeps a trailing archive comment, and a zip that fills the disk to its last byte', async () => {
    const zip = await makeZip('Islet update, distributed as is');
    assert.deepEqual(await copyOut(await disk(zip, 2 * MiB)), zip);
    const exact = await makeZip();
    assert.deepEqual(await copyOut(await disk(exact, exact.length)), exact);
  });

  it('refuses a disk of zeroes, one that holds no zip, and a file over the limit', async () => {
    await refused(copyOut(await disk(Buffer.alloc(0), MiB)), /reads as zeroes/);
    await refused(copyOut(await disk(Buffer.from('an ISO 9660 image, say'), MiB)), /does not hold an update file/);
    const zip = await makeZip();
    await refused(copyOut(await disk(zip, MiB), 100), /larger than the 100-byte limit/);
  });
});
