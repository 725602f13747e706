/**
 * The one-pass VHD reader (`vhd-stream-reader.ts`) against the file reader (`VhdFile`) as
 * the oracle: for random valid dynamic and fixed VHDs (any block size, blocks in any disk
 * order in the file, partial bitmaps, gaps, blktap's batmap, extra BAT entries), fed in
 * pieces of random sizes, it hands out exactly the disk the file reader reads, each byte
 * once, whether the pieces come as buffers or straight into its own (`readInto`). For
 * random mutations of those (bytes changed, checksums repaired or not, bodies cut
 * short) it never crashes: it fails with a `VhdError`, hands the body back for spooling, or
 * reads the same disk as the file reader. Then qemu-img's own VHDs, a BAT after its blocks
 * (spooled, the body handed back byte for byte) and the specific failures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { serializeBat } from '../../../src/storage/vhd/bat.js';
import { vhdChecksum } from '../../../src/storage/vhd/checksum.js';
import { newDynamicHeader, serializeDynamicHeader, UNUSED_BAT_ENTRY } from '../../../src/storage/vhd/dynamic-header.js';
import { VhdError } from '../../../src/storage/vhd/errors.js';
import { DiskType, newFooter, serializeFooter } from '../../../src/storage/vhd/footer.js';
import { VhdFile } from '../../../src/storage/vhd/vhd-file.js';
import { readVhdStream, type VhdStreamItem } from '../../../src/storage/vhd/vhd-stream-reader.js';
import { patternBuffer, prng, randInt, withTempDir } from './vhd-helpers.js';

const exec = promisify(execFile);
const UUID = '3f1c2a9e-1111-4a2b-9c3d-0123456789ab';

/** `bytes` in pieces of random sizes (1 byte to 64 KiB), as a socket would give them. */
async function* pieces(bytes: Buffer, seed: number): AsyncGenerator<Buffer> {
  const rnd = prng(seed);
  for (let at = 0; at < bytes.length;) {
    const n = 1 + randInt(rnd, rnd() < 0.2 ? 600 : 65536);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/**
 * `bytes` as the upload body reader gives them: pieces of random sizes in one reused
 * buffer, or straight into a buffer the caller gives (`readInto`, sometimes short of it
 * only at the end), the two interleaved as the caller pleases.
 */
function directSource(bytes: Buffer, seed: number): AsyncIterable<Buffer> & { readInto(target: Buffer): Promise<number> } {
  const rnd = prng(seed);
  const reused = Buffer.alloc(65536);
  let at = 0;
  return {
    async readInto(target: Buffer): Promise<number> {
      const n = Math.min(target.length, bytes.length - at);
      bytes.copy(target, 0, at, at + n);
      at += n;
      return n;
    },
    async *[Symbol.asyncIterator]() {
      while (at < bytes.length) {
        const n = Math.min(1 + randInt(rnd, reused.length), bytes.length - at);
        bytes.copy(reused, 0, at, at + n);
        at += n;
        yield reused.subarray(0, n);
        reused.fill(0x5a); // the piece is gone once the next is asked for
      }
    },
  };
}

type Read = { kind: 'disk'; disk: Buffer } | { kind: 'spool'; body: Buffer } | { kind: 'error'; error: VhdError };

/** What the stream reader makes of `bytes`: the disk (every byte given exactly once), the body handed back, or its error. */
async function streamRead(bytes: Buffer, seed: number, piece = 4096, direct = false): Promise<Read> {
  let disk: Buffer | null = null;
  let covered: Uint8Array | null = null;
  const held: Array<Extract<VhdStreamItem, { kind: 'data' }>> = [];
  let size: number | undefined;
  const cover = (offset: number, length: number) => {
    if (!disk && size !== undefined) {
      // Made only once the reader has checked the BAT and gives the first piece: a mutated
      // footer announces sizes up to 2 TiB that the BAT then refuses (BAT_TOO_SMALL), and
      // those must not be allocated (a RangeError beyond 4 GiB, gigabytes of memory below).
      disk = Buffer.alloc(size, 0xee);
      covered = new Uint8Array(size);
    } else if (!disk) {
      // A fixed disk's size is known only at the end: grow as data comes.
      disk = Buffer.alloc(0);
      covered = new Uint8Array(0);
    }
    if (offset + length > disk.length) {
      const grown = Buffer.alloc(offset + length);
      disk.copy(grown);
      const c = new Uint8Array(offset + length);
      c.set(covered!);
      disk = grown;
      covered = c;
    }
    for (let i = offset; i < offset + length; i++) {
      assert.equal(covered![i], 0, `byte ${i} given twice`);
      covered![i] = 1;
    }
  };
  try {
    let announced = false;
    let fixed = false;
    for await (const ev of readVhdStream(direct ? directSource(bytes, seed) : pieces(bytes, seed), { piece })) {
      if (ev.kind === 'disk') {
        announced = true;
        size = ev.size;
        fixed = size === undefined;
      } else if (ev.kind === 'data') {
        assert.ok(ev.data.length > 0 && ev.data.length <= piece);
        cover(ev.offset, ev.data.length);
        ev.data.copy(disk!, ev.offset);
        // Keep one piece while the next is read, as the import handler does.
        held.push(ev);
        if (held.length > 1) held.shift()!.release();
      } else if (ev.kind === 'zero') {
        cover(ev.offset, ev.length);
        disk!.fill(0, ev.offset, ev.offset + ev.length);
      } else {
        const chunks: Buffer[] = [];
        for await (const c of ev.body) chunks.push(Buffer.from(c));
        return { kind: 'spool', body: Buffer.concat(chunks) };
      }
    }
    if (fixed) {
      if (!disk) disk = Buffer.alloc(0);
    } else {
      assert.ok(announced && size !== undefined, 'a disk item came first');
      if (!disk) {
        disk = Buffer.alloc(size);
        covered = new Uint8Array(size);
      }
      const missing = (covered as Uint8Array).indexOf(0);
      assert.equal(missing, -1, `byte ${missing} of the disk never given`);
    }
    return { kind: 'disk', disk: disk! };
  } catch (e) {
    if (e instanceof VhdError) return { kind: 'error', error: e };
    throw e;
  } finally {
    for (const ev of held) ev.release();
  }
}

/** What the file reader makes of `bytes`: the disk, or its error. */
async function fileRead(dir: string, bytes: Buffer): Promise<{ disk: Buffer } | { error: VhdError }> {
  const path = join(dir, 'oracle.vhd');
  await writeFile(path, bytes);
  let f: VhdFile;
  try {
    f = await VhdFile.open(path, { readOnly: true });
  } catch (e) {
    if (e instanceof VhdError) return { error: e };
    throw e;
  }
  try {
    if (f.isDifferencing) return { error: new VhdError('UNSUPPORTED_DISK_TYPE', 'differencing') };
    return { disk: (await f.read(0, f.size)).data };
  } finally {
    await f.close();
  }
}

interface Built {
  bytes: Buffer;
  /** Where the footer copy, header, BAT and end footer are, for mutations that repair checksums. */
  header: number;
  fixed: boolean;
}

/** A valid VHD from a seed: dynamic (blocks in random file order, gaps, maybe a batmap) or fixed. */
function buildVhd(seed: number, kind?: 'dynamic'): Built {
  const rnd = prng(seed);
  if (rnd() < 0.2 && kind !== 'dynamic') {
    const size = randInt(rnd, 300) * 512;
    const data = rnd() < 0.5 ? patternBuffer(size, seed) : Buffer.alloc(size);
    return { bytes: Buffer.concat([data, serializeFooter(newFooter(DiskType.Fixed, size, UUID))]), header: -1, fixed: true };
  }
  const blockSize = 2 ** (12 + randInt(rnd, 5));
  const spb = blockSize / 512;
  const blocks = (kind === 'dynamic' ? 2 : 1) + randInt(rnd, 10);
  const size = ((blocks - 1) * spb + 1 + randInt(rnd, spb)) * 512;
  const entries = blocks + randInt(rnd, 3);
  const headerAt = 512 * (1 + randInt(rnd, 3));
  const tableAt = headerAt + 1024 + 512 * randInt(rnd, 3);
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  let at = tableAt + batBytes;
  const parts: Array<[number, Buffer]> = [];
  if (rnd() < 0.25) {
    // blktap's batmap: a header sector right after the BAT, its bits a sector further on.
    const hdr = Buffer.alloc(512);
    hdr.write('tdbatmap', 0, 'latin1');
    hdr.writeBigUInt64BE(BigInt(at + 512), 8);
    hdr.writeUInt32BE(1, 16);
    parts.push([at, hdr], [at + 512, Buffer.alloc(512, 0xff)]);
    at += 1024;
  }
  const bat = new Uint32Array(entries).fill(UNUSED_BAT_ENTRY);
  const used = [...Array(entries).keys()].filter((b) => rnd() < 0.7 || (kind === 'dynamic' && b === 0));
  for (let i = used.length - 1; i > 0; i--) {
    const j = randInt(rnd, i + 1);
    [used[i], used[j]] = [used[j]!, used[i]!];
  }
  const bitmapBytes = Math.ceil(spb / 8 / 512) * 512;
  for (const b of used) {
    at += 512 * randInt(rnd, 3);
    const bitmap = Buffer.alloc(bitmapBytes);
    const kind = rnd();
    if (kind < 0.5) bitmap.fill(0xff, 0, spb / 8);
    else if (kind < 0.9) patternBuffer(spb / 8, seed + b).copy(bitmap);
    bat[b] = at / 512;
    parts.push([at, bitmap], [at + bitmapBytes, patternBuffer(blockSize, seed * 31 + b)]);
    at += bitmapBytes + blockSize;
  }
  at += 512 * randInt(rnd, 2);
  const footer = serializeFooter({ ...newFooter(DiskType.Dynamic, size, UUID), dataOffset: headerAt });
  const out = Buffer.alloc(at + 512);
  footer.copy(out, 0);
  serializeDynamicHeader(newDynamicHeader(tableAt, entries, blockSize)).copy(out, headerAt);
  serializeBat(bat, batBytes).copy(out, tableAt);
  for (const [offset, buf] of parts) buf.copy(out, offset);
  footer.copy(out, at);
  return { bytes: out, header: headerAt, fixed: false };
}

/** Rewrites the checksums of both footers and the header, so that checks past them are reached. */
function repairChecksums(bytes: Buffer, built: Built): void {
  const fix = (at: number, len: number, field: number) => {
    if (at < 0 || at + len > bytes.length) return;
    bytes.writeUInt32BE(vhdChecksum(bytes.subarray(at, at + len), field), at + field);
  };
  if (bytes.length >= 512) fix(bytes.length - 512, 512, 64);
  if (!built.fixed) {
    fix(0, 512, 64);
    fix(built.header, 1024, 36);
  }
}

describe('the one-pass VHD reader', () => {
  it('reads every random valid VHD as the file reader does', async () => {
    await withTempDir(async (dir) => {
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), async (seed) => {
        const built = buildVhd(seed);
        const want = await fileRead(dir, built.bytes);
        assert.ok('disk' in want, `the oracle reads the built VHD: ${'error' in want ? want.error.message : ''}`);
        const got = await streamRead(built.bytes, seed, 4096 * (1 + (seed % 3)) * (seed % 2 ? 16 : 1), seed % 2 === 1);
        assert.equal(got.kind, 'disk', got.kind === 'error' ? got.error.message : got.kind);
        assert.ok(got.kind === 'disk' && got.disk.equals(want.disk), 'the same disk');
      }), { numRuns: 250 });
    });
  });

  it('never crashes on a mutated VHD, and what it accepts the file reader reads the same', async () => {
    await withTempDir(async (dir) => {
      const mutation = fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 31 }),
        edits: fc.array(fc.record({ where: fc.constantFrom('head', 'tail', 'any'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        repair: fc.boolean(),
        cut: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.nat(), weight: 1 }),
      });
      await fc.assert(fc.asyncProperty(mutation, async ({ seed, edits, repair, cut }) => {
        const built = buildVhd(seed);
        let bytes = Buffer.from(built.bytes);
        for (const e of edits) {
          const span = e.where === 'head' ? Math.min(bytes.length, 4096) : e.where === 'tail' ? Math.min(bytes.length, 512) : bytes.length;
          const base = e.where === 'tail' ? bytes.length - span : 0;
          bytes[base + (e.at % span)] = e.value;
        }
        if (repair) repairChecksums(bytes, built);
        if (cut !== undefined) bytes = bytes.subarray(0, cut % bytes.length);
        const got = await streamRead(bytes, seed);
        if (got.kind === 'spool') {
          assert.ok(got.body.equals(bytes), 'a spooled body is handed back whole');
          return;
        }
        if (got.kind === 'error') return;
        const want = await fileRead(dir, bytes);
        assert.ok('disk' in want, `accepted what the file reader refuses (${'error' in want ? want.error.message : ''})`);
        assert.ok(got.disk.equals(want.disk), 'the same disk as the file reader');
      }), { numRuns: 400 });
    });
  });

  it('reads dynamic and fixed VHDs made by qemu-img as qemu-img does', async () => {
    await withTempDir(async (dir) => {
      for (const sub of ['dynamic', 'fixed']) {
        const vhd = join(dir, `${sub}.vhd`);
        const raw = join(dir, `${sub}.raw`);
        await exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', `subformat=${sub},force_size=on`, vhd, '12M']);
        await exec('qemu-io', ['-f', 'vpc', '-c', 'write -P 0xa5 1M 3M', '-c', 'write -P 0x5a 6M 4k', '-c', 'write -P 0x11 11M 1M', vhd]);
        await exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd, raw]);
        const got = await streamRead(await readFile(vhd), 7, 2 * 1024 * 1024);
        assert.equal(got.kind, 'disk');
        assert.ok(got.kind === 'disk' && got.disk.equals(await readFile(raw)), `${sub}: the disk qemu-img reads`);
      }
    });
  });

  it('hands back, byte for byte, a VHD whose BAT comes after its blocks', async () => {
    const built = buildVhd(11, 'dynamic');
    const b = built.bytes;
    // A copy of the BAT after the blocks, the header pointing at it.
    const tableAt = Number(b.readBigUInt64BE(built.header + 16));
    const bat = b.subarray(tableAt, tableAt + Math.ceil((b.readUInt32BE(built.header + 28) * 4) / 512) * 512);
    const body = Buffer.concat([b.subarray(0, b.length - 512), bat, b.subarray(b.length - 512)]);
    body.writeBigUInt64BE(BigInt(b.length - 512), built.header + 16);
    body.writeUInt32BE(vhdChecksum(body.subarray(built.header, built.header + 1024), 36), built.header + 36);
    const want = await withTempDir((dir) => fileRead(dir, body));
    assert.ok('disk' in want, 'the file reader reads it');
    const got = await streamRead(body, 3);
    assert.equal(got.kind, 'spool');
    assert.ok(got.kind === 'spool' && got.body.equals(body));
  });

  it('refuses a block over the batmap when the BAT leaves part of its last sector unused, as the file reader does', async () => {
    // Found by the mutation property above (about once in 8000 cases): the gap between the
    // BAT's end and its padded end was measured after skipping it, so the batmap was looked
    // for only when the BAT filled its last sector. Here 12 entries use 48 bytes of it.
    const built = buildVhd(320745061);
    const bytes = Buffer.from(built.bytes);
    const at = bytes.indexOf('tdbatmap', 0, 'latin1');
    assert.ok(at > 0 && bytes.readUInt32BE(built.header + 28) === 12, 'a batmap after a BAT of 12 entries');
    // The batmap's bits grow from one sector to two: the second is the first block's bitmap.
    bytes.writeUInt32BE(2, at + 16);
    const want = await withTempDir((dir) => fileRead(dir, bytes));
    assert.equal('error' in want ? want.error.code : 'disk', 'BAT_ENTRY_IN_METADATA');
    for (const [seed, direct] of [[1, false], [2, true]] as const) {
      const got = await streamRead(bytes, seed, 4096, direct);
      assert.equal(got.kind === 'error' ? got.error.code : got.kind, 'BAT_ENTRY_IN_METADATA');
    }
  });

  it('names what is wrong: a cut body, a lying footer or header, overlapping blocks', async () => {
    const built = buildVhd(5, 'dynamic');
    const bytes = built.bytes;
    const code = async (b: Buffer) => {
      const r = await streamRead(b, 1);
      return r.kind === 'error' ? r.error.code : r.kind;
    };
    assert.equal(await code(bytes.subarray(0, 100)), 'TRUNCATED');
    assert.equal(await code(bytes.subarray(0, bytes.length - 1)), 'TRUNCATED');
    assert.equal(await code(bytes.subarray(0, built.header + 500)), 'TRUNCATED');
    const copy = Buffer.from(bytes);
    copy[40] ^= 1;
    assert.equal(await code(copy), 'BAD_FOOTER_CHECKSUM');
    const end = Buffer.from(bytes);
    end[end.length - 1] ^= 1;
    assert.equal(await code(end), 'BAD_FOOTER_CHECKSUM');
    const hdr = Buffer.from(bytes);
    hdr[built.header + 100] ^= 1;
    assert.equal(await code(hdr), 'BAD_HEADER_CHECKSUM');
    // A footer copy announcing 1 TiB that the BAT cannot hold: refused (the reader announces
    // the size before it reads the BAT, so a consumer must not make a disk that size at once).
    const huge = Buffer.from(bytes);
    huge.writeBigUInt64BE(2n ** 40n, 48);
    repairChecksums(huge, built);
    assert.equal(await code(huge), 'BAT_TOO_SMALL');
    // Two BAT entries at the same place.
    const twice = Buffer.from(bytes);
    const tableAt = Number(twice.readBigUInt64BE(built.header + 16));
    const first = twice.readUInt32BE(tableAt);
    twice.writeUInt32BE(first, tableAt + 4);
    assert.equal(await code(twice), 'BAT_ENTRIES_OVERLAP');
  });
});
