/**
 * Islet's NBD server against the real clients: nbdinfo sees the export, its size and its
 * holes; nbdcopy copies out and in byte for byte; qemu-img reads it as a raw image,
 * compares it and converts it to qcow2. The served file is a sparse raw image with data
 * in known places.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileBlockDevice } from '../../../src/storage/nbd/file-block-device.js';
import { KiB, MiB, missingTools, makeRawFile, makeTempDir, pattern, run, runOk, serveFile, withTempDir, type ServedFile } from './nbd-fixture.js';

const SIZE = 64 * MiB;
/** Data regions, aligned to the adapter's 64 KiB tracking chunks so the map is exact. */
const REGIONS = [
  { offset: 0, data: pattern(64 * KiB, 1) },
  { offset: MiB, data: pattern(192 * KiB, 2) },
  { offset: 17 * MiB, data: pattern(64 * KiB, 3) },
  { offset: SIZE - MiB, data: pattern(MiB, 4) },
];

const missing = await missingTools(['nbdinfo', 'nbdcopy', 'qemu-img']);
const skip = missing.length ? `missing ${missing.join(', ')}` : false;

describe('NBD server with nbdinfo, nbdcopy and qemu-img', { skip }, () => {
  let dir: string;
  let file: string;
  let served: ServedFile;

  before(async () => {
    dir = await makeTempDir();
    file = join(dir, 'disk.raw');
    await makeRawFile(file, SIZE, REGIONS);
    served = await serveFile(file);
  });

  after(async () => {
    await served?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('nbdinfo reports the export name, size and capabilities', async () => {
    const info = JSON.parse(await runOk('nbdinfo', ['--json', served.uri()]));
    assert.equal(info.protocol, 'newstyle-fixed');
    assert.equal(info.structured, true);
    const [e] = info.exports;
    assert.equal(e['export-name'], 'disk');
    assert.equal(e['export-size'], SIZE);
    assert.deepEqual(e.contexts, ['base:allocation']);
    assert.equal(e.is_read_only, false);
    assert.equal(e.can_flush, true);
    assert.equal(e.can_fua, true);
    assert.equal(e.can_trim, true);
    assert.equal(e.can_zero, true);
    assert.equal(e.can_multi_conn, false);
    assert.equal(e.block_size_maximum, 32 * MiB);
  });

  it('nbdinfo --map shows data exactly where it was written and holes elsewhere', async () => {
    const map = JSON.parse(await runOk('nbdinfo', ['--map', '--json', served.uri()])) as { offset: number; length: number; type: number }[];
    const data = map.filter((m) => (m.type & 1) === 0).map((m) => [m.offset, m.length]);
    assert.deepEqual(data, REGIONS.map((r) => [r.offset, r.data.length]));
    assert.equal(map.reduce((n, m) => n + m.length, 0), SIZE);
    assert.ok(map.filter((m) => m.type & 1).every((m) => m.type === 3), 'holes read as zero');
  });

  it('an unknown export is refused with an error, not a hang', async () => {
    const r = await run('nbdinfo', [served.uri('no-such-vdi')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-vdi/);
  });

  it('nbdcopy copies the export out byte for byte', async () => {
    const out = join(dir, 'out.raw');
    await runOk('nbdcopy', [served.uri(), out]);
    assert.ok((await readFile(out)).equals(await readFile(file)));
  });

  it('qemu-img compares the export with the file, and converts it to an identical qcow2', async () => {
    assert.match(await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', served.uri(), file]), /Images are identical/);
    const qcow = join(dir, 'out.qcow2');
    await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', served.uri(), qcow]);
    assert.match(await runOk('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', qcow, file]), /Images are identical/);
    const map = JSON.parse(await runOk('qemu-img', ['map', '--output=json', '-f', 'qcow2', qcow])) as { start: number; length: number; data: boolean }[];
    const allocated = map.filter((m) => m.data).reduce((n, m) => n + m.length, 0);
    assert.ok(allocated <= 4 * MiB, `holes stayed holes in the qcow2 (${allocated} bytes of data)`);
  });

  it('nbdcopy writes a file into the export byte for byte, zeroing where the source has holes', async () => {
    const src = join(dir, 'in.raw');
    await makeRawFile(src, SIZE, [
      { offset: 512 * KiB, data: pattern(3 * MiB + 4 * KiB, 10) },
      { offset: 17 * MiB + 8 * KiB, data: pattern(40 * KiB, 11) },
      { offset: 40 * MiB, data: pattern(5 * MiB, 12) },
    ]);
    await runOk('nbdcopy', [src, served.uri()]);
    await served.device.flush();
    assert.ok((await readFile(file)).equals(await readFile(src)));
    assert.match(await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', served.uri(), src]), /Images are identical/);
  });
});

describe('NBD server as a qemu-img target', { skip }, () => {
  it('qemu-img convert writes an image into the export (large writes, zeroes, flush)', async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, 'target.raw');
      await makeRawFile(target, 48 * MiB, [{ offset: 0, data: pattern(48 * MiB, 20) }]); // all data, to be zeroed
      const served = await serveFile(target);
      try {
        const src = join(dir, 'src.raw');
        await makeRawFile(src, 48 * MiB, [{ offset: 3 * MiB + 512, data: pattern(5 * MiB, 21) }, { offset: 40 * MiB, data: pattern(64 * KiB, 22) }]);
        await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, served.uri()]);
        assert.ok((await readFile(target)).equals(await readFile(src)));
      } finally {
        await served.close();
      }
    });
  });
});

describe('NBD server export options', { skip }, () => {
  it('a read-only export says so and refuses writes', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'ro.raw');
      await makeRawFile(file, 4 * MiB, [{ offset: 0, data: pattern(MiB, 5) }]);
      const served = await serveFile(file, { readOnly: true });
      try {
        const info = JSON.parse(await runOk('nbdinfo', ['--json', served.uri()]));
        assert.equal(info.exports[0].is_read_only, true);
        assert.equal(info.exports[0].can_trim, false);
        const r = await run('nbdcopy', [join(dir, 'ro.raw'), served.uri()]);
        assert.notEqual(r.code, 0);
        assert.ok((await readFile(file)).subarray(0, MiB).equals(pattern(MiB, 5)));
      } finally {
        await served.close();
      }
    });
  });

  it('with multiConn, nbdcopy may use several connections and still copies exactly', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'mc.raw');
      const device = await FileBlockDevice.create(file, 32 * MiB);
      const served = await serveFile(undefined, { device, multiConn: true });
      try {
        const info = JSON.parse(await runOk('nbdinfo', ['--json', served.uri()]));
        assert.equal(info.exports[0].can_multi_conn, true);
        const src = join(dir, 'src.raw');
        await makeRawFile(src, 32 * MiB, [{ offset: 0, data: pattern(20 * MiB, 6) }, { offset: 25 * MiB, data: pattern(3 * MiB, 7) }]);
        await runOk('nbdcopy', ['--connections=4', '--flush', src, served.uri()]);
        assert.ok((await readFile(file)).equals(await readFile(src)));
        const back = join(dir, 'back.raw');
        await runOk('nbdcopy', ['--connections=4', served.uri(), back]);
        assert.ok((await readFile(back)).equals(await readFile(src)));
      } finally {
        await served.close();
      }
    });
  });

  it('NBD_OPT_LIST answers with the names the toolstack chooses to show', async () => {
    await withTempDir(async (dir) => {
      const device = await FileBlockDevice.create(join(dir, 'l.raw'), MiB);
      const served = await serveFile(undefined, {
        device,
        listExports: async () => ['disk', 'other'],
        resolveExport: async (n) => (['disk', 'other'].includes(n) ? { device, readOnly: n === 'other', release: async () => undefined } : undefined),
      });
      try {
        const out = await runOk('nbdinfo', ['--list', '--json', served.uri('')]);
        const exports = JSON.parse(out).exports as { 'export-name': string; is_read_only: boolean }[];
        assert.deepEqual(exports.map((e) => [e['export-name'], e.is_read_only]).sort(), [['disk', false], ['other', true]]);
      } finally {
        await served.close();
      }
    });
  });
});
