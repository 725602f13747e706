/**
 * Untrusted files: hundreds of random mutations of footer, header, BAT, locator and bitmap
 * bytes (half of them with checksums repaired so deeper checks are reached). Opening and
 * reading every block must either work or throw `VhdError`, quickly; a file we accept must
 * also stay valid after we write to it. Then the specific corruptions, one by one.
 */
import assert from 'node:assert/strict';
import { copyFile, open as openFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { vhdChecksum } from '../../../src/storage/vhd/checksum.js';
import { createDifferencing, createDynamic, open, VhdChain, VhdError } from '../../../src/storage/vhd/index.js';
import { patternBuffer, prng, randInt, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;
const CASES = 500;
const CASE_TIMEOUT_MS = 2000;

interface Source {
  path: string;
  bytes: Buffer;
  regions: Array<[number, number]>;
  tableOffset: number;
}

async function makeSources(dir: string): Promise<Source[]> {
  const specs: Array<[string, number, number | undefined]> = [
    ['big-blocks.vhd', 8 * MiB, undefined],
    ['small-blocks.vhd', 4 * MiB, 64 * 1024],
  ];
  const paths: string[] = [];
  for (const [name, size, blockSize] of specs) {
    const path = join(dir, name);
    await createDynamic(path, size, blockSize ? { blockSize } : {});
    const f = await open(path);
    await f.write(4096, patternBuffer(8192, 1));
    await f.write(size - 3 * 65536, patternBuffer(65536 + 512, 2));
    await f.close();
    paths.push(path);
  }
  const child = join(dir, 'child.vhd');
  await createDifferencing(child, paths[1]!);
  const c = await open(child);
  await c.write(512, patternBuffer(4096, 3));
  await c.write(MiB, patternBuffer(70000 - (70000 % 512), 4));
  await c.close();
  paths.push(child);
  const out: Source[] = [];
  for (const path of paths) {
    const bytes = await readFile(path);
    const f = await open(path, { readOnly: true });
    const h = f.header!;
    const regions: Array<[number, number]> = [
      [bytes.length - 512, bytes.length],
      [0, 512],
      [512, 1536],
      [h.tableOffset, h.tableOffset + h.maxTableEntries * 4],
    ];
    for (const loc of h.locators) if (loc.code) regions.push([loc.dataOffset, loc.dataOffset + loc.dataLength]);
    for (const b of f.allocatedBlocks()) {
      const m = await f.map(b * f.blockSize, 512);
      if (m[0]!.fileOffset !== null) regions.push([m[0]!.fileOffset - 512, m[0]!.fileOffset]);
    }
    await f.close();
    out.push({ path, bytes, regions, tableOffset: h.tableOffset });
  }
  return out;
}

function interestingU32(rnd: () => number, src: Source): number {
  const fileSectors = Math.floor(src.bytes.length / 512);
  const picks = [0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x200000, 0x1000, fileSectors - 1, fileSectors, fileSectors + 7, src.tableOffset / 512, randInt(rnd, 0x100000000)];
  return picks[randInt(rnd, picks.length)]! >>> 0;
}

function fixChecksums(buf: Buffer): void {
  for (const at of [0, buf.length - 512]) {
    const f = buf.subarray(at, at + 512);
    if (f.toString('latin1', 0, 8) === 'conectix') f.writeUInt32BE(vhdChecksum(f, 64), 64);
  }
  const h = buf.subarray(512, 1536);
  if (h.toString('latin1', 0, 8) === 'cxsparse') h.writeUInt32BE(vhdChecksum(h, 36), 36);
}

/** Applies 1-4 mutations to a copy of the source; returns the changed byte positions. */
function mutate(rnd: () => number, src: Source): Buffer {
  const buf = Buffer.from(src.bytes);
  for (let k = 1 + randInt(rnd, 4); k > 0; k--) {
    const [start, end] = src.regions[randInt(rnd, src.regions.length)]!;
    const kind = randInt(rnd, 3);
    if (kind === 0) {
      const at = start + randInt(rnd, end - start);
      buf[at] ^= 1 << randInt(rnd, 8);
    } else if (kind === 1 && end - start >= 4) {
      const at = start + 4 * randInt(rnd, Math.floor((end - start) / 4));
      buf.writeUInt32BE(interestingU32(rnd, src), at);
    } else {
      const at = start + randInt(rnd, end - start);
      buf[at] = randInt(rnd, 256);
    }
  }
  if (rnd() < 0.5) fixChecksums(buf);
  return buf;
}

async function exercise(path: string): Promise<void> {
  const chain = await VhdChain.open(path, { readOnly: true, maxDepth: 8 });
  try {
    const leaf = chain.leaf;
    await chain.blockStatus(0, chain.size);
    for (const b of leaf.allocatedBlocks()) {
      const start = b * leaf.blockSize;
      await chain.read(start, Math.min(leaf.blockSize, chain.size - start));
    }
    await chain.read(0, Math.min(chain.size, 65536));
  } finally {
    await chain.close();
  }
}

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test(`${CASES} mutated files: VhdError or success, never a crash or a hang`, async () => {
  await withTempDir(async (dir) => {
    const sources = await makeSources(dir);
    const rnd = prng(20261125);
    const codes = new Map<string, number>();
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const src = sources[i % sources.length]!;
      const path = join(dir, `case.vhd`);
      await writeFile(path, mutate(rnd, src));
      try {
        await withTimeout(exercise(path), `case ${i}`);
        accepted++;
        if (accepted % 4 === 0) {
          // What we accept we can write to, and it stays a valid VHD.
          const f = await open(path);
          await f.write(Math.min(f.size - 4096, 3 * 65536), patternBuffer(4096, i));
          await f.close();
          await withTimeout(exercise(path), `case ${i} after write`);
        }
      } catch (e) {
        if (!(e instanceof VhdError)) {
          await copyFile(path, join(dir, 'failed.vhd'));
          assert.fail(`case ${i} (${src.path}): ${(e as Error).stack}`);
        }
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
    // The mix shows the checks are reached, not only the checksums.
    assert.ok(accepted > 20, `accepted ${accepted}`);
    assert.ok(codes.size >= 6, JSON.stringify([...codes]));
  }, { inMemory: true });
});

async function expectCode(path: string, code: string): Promise<void> {
  await assert.rejects(exercise(path), (e: unknown) => {
    assert.ok(e instanceof VhdError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

async function patch(path: string, at: number, bytes: Buffer): Promise<void> {
  const fh = await openFile(path, 'r+');
  await fh.write(bytes, 0, bytes.length, at);
  await fh.close();
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

test('specific corruptions get their own codes', async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, 'good.vhd');
    await createDynamic(good, 16 * MiB);
    const f = await open(good);
    await f.write(0, Buffer.alloc(4096, 1));
    await f.write(6 * MiB, Buffer.alloc(4096, 2));
    const table = f.header!.tableOffset;
    await f.close();
    const { size } = await (await import('node:fs/promises')).stat(good);
    const cases: Array<[string, string, (p: string) => Promise<void>]> = [
      ['BAT entry beyond EOF', 'BAT_ENTRY_OUT_OF_RANGE', (p) => patch(p, table + 4, u32(size / 512 + 100))],
      ['BAT entry over the header', 'BAT_ENTRY_IN_METADATA', (p) => patch(p, table + 4, u32(1))],
      ['two blocks in one place', 'BAT_ENTRIES_OVERLAP', async (p) => patch(p, table + 12, (await readFile(p)).subarray(table, table + 4))],
      ['footer checksum', 'BAD_FOOTER_CHECKSUM', (p) => patch(p, size - 512 + 64, u32(12345))],
      ['header checksum', 'BAD_HEADER_CHECKSUM', (p) => patch(p, 512 + 36, u32(12345))],
      ['footer cookie', 'TRUNCATED', (p) => patch(p, size - 512, Buffer.from('notavhd!'))],
      ['cut short', 'TRUNCATED', (p) => truncate(p, size - 1024 * 1024)],
      ['tiny', 'TRUNCATED', (p) => truncate(p, 100)],
    ];
    for (const [what, code, corrupt] of cases) {
      const p = join(dir, `${code}-${what.replace(/\W/g, '_')}.vhd`);
      await copyFile(good, p);
      await corrupt(p);
      await expectCode(p, code);
    }
    // Header fields behind a repaired checksum.
    const headerCases: Array<[string, number, number]> = [
      ['UNSUPPORTED_BLOCK_SIZE', 32, 3 * MiB],
      ['UNSUPPORTED_BLOCK_SIZE', 32, 0],
      ['BAT_TOO_SMALL', 28, 2],
      ['BAD_LAYOUT', 28, 0xffffffff],
      ['UNSUPPORTED_VERSION', 24, 0x00020000],
    ];
    for (const [code, field, value] of headerCases) {
      const p = join(dir, `h-${code}-${value}.vhd`);
      const buf = await readFile(good);
      buf.writeUInt32BE(value >>> 0, 512 + field);
      fixChecksums(buf);
      await writeFile(p, buf);
      await expectCode(p, code);
    }
    const p = join(dir, 'type.vhd');
    const buf = await readFile(good);
    for (const at of [0, buf.length - 512]) buf.writeUInt32BE(7, at + 60);
    fixChecksums(buf);
    await writeFile(p, buf);
    await expectCode(p, 'UNSUPPORTED_DISK_TYPE');
  });
});
