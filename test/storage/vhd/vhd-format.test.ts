/**
 * The on-disk structures: footer and header round trips, CHS geometry checked against the
 * footers qemu-img writes, and the blktap conventions of our files (creator `tap` 1.3, copy of
 * the footer at 0, hidden byte at 85, MacX/W2ku/W2ru locators with `./name`, UTF-16BE name).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { vhdChecksum } from '../../../src/storage/vhd/checksum.js';
import { parseDynamicHeader, serializeDynamicHeader } from '../../../src/storage/vhd/dynamic-header.js';
import { newFooter, parseFooter, serializeFooter } from '../../../src/storage/vhd/footer.js';
import { createDifferencing, createDynamic, DiskType, geometryForSize, open, PlatformCode, VhdChain } from '../../../src/storage/vhd/index.js';
import { decodeLocator, encodeLocator } from '../../../src/storage/vhd/parent-locator.js';
import { run, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

test('geometry matches what qemu-img writes', async () => {
  await withTempDir(async (dir) => {
    for (const size of ['20M', '64M', '1G', '100G', '2040G']) {
      const path = join(dir, `${size}.vhd`);
      const r = await run('qemu-img', ['create', '-f', 'vpc', '-o', 'subformat=dynamic', path, size]);
      assert.equal(r.code, 0, r.stderr);
      const footer = parseFooter((await readFile(path)).subarray(0, 512));
      assert.deepEqual(geometryForSize(footer.currentSize), footer.geometry, size);
    }
  });
  // The spec's cap: 65535 cylinders, 16 heads, 255 sectors per track.
  assert.deepEqual(geometryForSize(2040 * GiB), { cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
});

test('footer and header round-trip with valid checksums', () => {
  const f = newFooter(DiskType.Dynamic, 10 * GiB, '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
  f.hidden = 1;
  const buf = serializeFooter(f);
  assert.equal(buf.readUInt32BE(64), vhdChecksum(buf, 64));
  assert.equal(buf.toString('latin1', 28, 32), 'tap\0');
  assert.equal(buf.readUInt32BE(32), 0x00010003);
  assert.equal(buf[85], 1);
  assert.deepEqual({ ...parseFooter(buf), checksum: 0 }, { ...f, checksum: 0 });

  const h = parseDynamicHeader(
    serializeDynamicHeader({
      tableOffset: 1536,
      headerVersion: 0x00010000,
      maxTableEntries: 5120,
      blockSize: 2 * MiB,
      checksum: 0,
      parentUuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      parentTimestamp: 123456,
      parentUnicodeName: 'père-ü.vhd',
      locators: [{ code: PlatformCode.MacX, dataSpace: 512, dataLength: 20, dataOffset: 22528 }, ...Array(7).fill({ code: 0, dataSpace: 0, dataLength: 0, dataOffset: 0 })],
    }),
  );
  assert.equal(h.parentUnicodeName, 'père-ü.vhd');
  assert.equal(h.locators[0]!.dataOffset, 22528);
});

test('locators encode as blktap writes them and decode from other writers', () => {
  assert.equal(encodeLocator(PlatformCode.MacX, './p.vhd').toString('utf8'), 'file://./p.vhd');
  assert.equal(encodeLocator(PlatformCode.W2ru, './p.vhd').toString('utf16le'), '.\\p.vhd');
  assert.equal(encodeLocator(PlatformCode.W2ku, '../sr/p.vhd').toString('utf16le'), '.\\..\\sr\\p.vhd');
  assert.equal(decodeLocator(PlatformCode.W2ku, Buffer.from('C:\\vms\\p.vhd', 'utf16le')), '/vms/p.vhd');
  assert.equal(decodeLocator(PlatformCode.W2ru, Buffer.from('.\\p.vhd', 'utf16le')), './p.vhd');
  assert.equal(decodeLocator(PlatformCode.MacX, Buffer.from('http://x')), null);
});

test('our differencing file looks like a blktap one', async () => {
  await withTempDir(async (dir) => {
    const parent = join(dir, 'parent.vhd');
    const child = join(dir, 'child.vhd');
    await createDynamic(parent, 3 * GiB);
    await createDifferencing(child, parent);
    const bytes = await readFile(child);
    assert.ok(bytes.subarray(0, 512).equals(bytes.subarray(-512)), 'footer copy at 0');
    const f = await open(child);
    assert.equal(f.footer.creatorApp, 'tap\0');
    assert.equal(f.footer.diskType, DiskType.Differencing);
    assert.equal(f.header!.tableOffset, 1536);
    assert.equal(f.header!.blockSize, 2 * MiB);
    assert.equal(f.header!.parentUnicodeName, 'parent.vhd');
    assert.deepEqual(f.header!.locators.slice(0, 3).map((l) => l.code), [PlatformCode.MacX, PlatformCode.W2ku, PlatformCode.W2ru]);
    assert.equal(f.header!.locators[0]!.dataSpace, 512, 'data space in bytes, as blktap');
    assert.deepEqual(await f.parentLocatorPaths(), ['./parent.vhd']);
    // libvhdi reads the same parent name and identifier.
    const r = await run('/usr/bin/python3', ['-c', `import pyvhdi,sys\nf=pyvhdi.file(); f.open(sys.argv[1]); print(f.get_parent_filename()); print(f.get_parent_identifier())`, child]);
    assert.equal(r.code, 0, r.stderr);
    const parentFile = await open(parent, { readOnly: true });
    assert.deepEqual(r.stdout.trim().split('\n'), ['parent.vhd', parentFile.uuid]);
    await parentFile.close();

    await f.setHidden(true);
    assert.equal(f.hidden, true);
    await f.close();
    const after = await readFile(child);
    assert.equal(after[85], 1);
    assert.equal(after.subarray(-512)[85], 1);
    const again = await open(child, { readOnly: true });
    assert.equal(again.hidden, true);
    await again.close();
  });
});

test('setParent across directories writes a ../ locator that resolves', async () => {
  await withTempDir(async (dir) => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await createDynamic(join(dir, 'a', 'p1.vhd'), 8 * MiB);
    // Long enough that the UTF-16 locators no longer fit their sector and move to the end.
    await mkdir(join(dir, 'b', 'd'.repeat(200)));
    const p2 = join(dir, 'b', 'd'.repeat(200), 'long-parent-name.vhd');
    await createDynamic(p2, 8 * MiB);
    const p2f = await open(p2);
    await p2f.write(0, Buffer.alloc(4096, 9));
    await p2f.close();
    const child = join(dir, 'a', 'c.vhd');
    await createDifferencing(child, join(dir, 'a', 'p1.vhd'));
    const c = await open(child);
    await c.write(MiB, Buffer.alloc(4096, 3));
    await c.setParent(p2);
    assert.ok((await c.parentLocatorPaths())[0]!.startsWith('../b/ddd'));
    await c.close();
    const chain = await VhdChain.open(child, { readOnly: true });
    assert.equal(chain.layers[1]!.path, p2);
    const data = await chain.read(0, MiB + 4096);
    assert.ok(data.subarray(0, 4096).every((x) => x === 9));
    assert.ok(data.subarray(MiB).every((x) => x === 3));
    await chain.close();
  });
});
