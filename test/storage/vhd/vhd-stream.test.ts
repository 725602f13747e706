/**
 * The dynamic-VHD export stream against external oracles: a disk with data in a few places
 * (partial blocks, a block straddling extents, the last partial sector) is streamed to a
 * file, which qemu-img must find identical to the raw content and libvhdi must read the
 * same; the stream holds only blocks with data and its length is what the plan announced.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import type { StreamSource } from '../../../src/storage/vhd/vhd-stream.js';
import { planVhdStream, vhdStreamChunks, vhdStreamParts } from '../../../src/storage/vhd/vhd-stream.js';
import { withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;

/** A disk in memory whose block status is what was written (sector precise). */
function memorySource(size: number, writes: Array<[number, Buffer]>): StreamSource & { content: Buffer } {
  const content = Buffer.alloc(size);
  const ranges: Array<[number, number]> = [];
  for (const [at, data] of writes) {
    data.copy(content, at);
    ranges.push([at, at + data.length]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  return {
    size, content,
    read: async (o, l) => Buffer.from(content.subarray(o, o + l)),
    blockStatus: async (o, l) => {
      const out: Array<{ offset: number; length: number; zero: boolean }> = [];
      let p = o;
      for (const [s, e] of ranges) {
        if (e <= p || s >= o + l) continue;
        if (s > p) out.push({ offset: p, length: s - p, zero: true });
        const end = Math.min(e, o + l);
        out.push({ offset: Math.max(s, p), length: end - Math.max(s, p), zero: false });
        p = end;
      }
      if (p < o + l) out.push({ offset: p, length: o + l - p, zero: true });
      return out;
    },
  };
}

describe('VHD export stream', () => {
  it('is a dynamic VHD qemu-img and libvhdi read as the source, holding only data blocks', async () => {
    await withTempDir(async (dir) => {
      const size = 37 * MiB + 1536;
      const src = memorySource(size, [
        [4096, Buffer.alloc(10000, 0x11)],
        [3 * MiB - 512, Buffer.alloc(MiB, 0x22)],
        [20 * MiB, Buffer.alloc(2 * MiB, 0x33)],
        [size - 700, Buffer.alloc(700, 0x44)],
      ]);
      const plan = await planVhdStream(src);
      assert.deepEqual(plan.blocks, [0, 1, 10, 18]);
      const vhd = join(dir, 'out.vhd');
      await pipeline(Readable.from(vhdStreamChunks(src, plan)), createWriteStream(vhd));
      assert.equal((await stat(vhd)).size, plan.length);
      const raw = join(dir, 'want.raw');
      await writeFile(raw, Buffer.concat([src.content, Buffer.alloc(plan.size - size)]));
      const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-f', 'vpc', vhd], { encoding: 'utf8' }));
      assert.equal(info['virtual-size'], plan.size);
      assert.match(execFileSync('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', vhd, raw], { encoding: 'utf8' }), /Images are identical/);
      const py = 'import hashlib,sys,pyvhdi\nf=pyvhdi.file();f.open(sys.argv[1]);n=f.get_media_size();print(hashlib.sha256(f.read_buffer_at_offset(n,0)).hexdigest())';
      const sha = execFileSync('/usr/bin/python3', ['-c', py, vhd], { encoding: 'utf8' }).trim();
      const want = execFileSync('sha256sum', [raw], { encoding: 'utf8' }).split(' ')[0];
      assert.equal(sha, want);
    });
  });

  it('reads blocks into the stream\'s own buffers and reuses those the consumer gave back', async () => {
    await withTempDir(async (dir) => {
      // Twelve data blocks (six parts), most partly filled, and a source that fills the buffer it is given.
      const size = 30 * MiB;
      const writes: Array<[number, Buffer]> = [];
      for (let b = 0; b < 15; b++) if (b % 4 !== 3) writes.push([b * 2 * MiB + (b % 5) * 4096, Buffer.alloc(b === 6 ? 512 : 2 * MiB - (b % 5) * 4096, b + 1)]);
      const mem = memorySource(size, writes);
      const filled = new Set<ArrayBufferLike>();
      const src: StreamSource = {
        size, blockStatus: mem.blockStatus,
        read: async (o, l, into) => {
          if (!into) return mem.read(o, l);
          mem.content.copy(into, 0, o, o + l);
          filled.add(into.buffer);
          return into.subarray(0, l);
        },
      };
      const plan = await planVhdStream(src);
      assert.equal(plan.blocks.length, 12);
      const parts: Buffer[] = [];
      for await (const part of vhdStreamParts(src, plan)) {
        parts.push(Buffer.from(part.data));
        part.done?.();
      }
      assert.ok(filled.size < 6, `${filled.size} buffers for 6 groups: given-back buffers are reused`);
      const vhd = join(dir, 'out.vhd');
      await writeFile(vhd, Buffer.concat(parts));
      assert.equal((await stat(vhd)).size, plan.length);
      const raw = join(dir, 'want.raw');
      await writeFile(raw, mem.content);
      assert.match(execFileSync('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', vhd, raw], { encoding: 'utf8' }), /Images are identical/);
    });
  });

  it('an empty disk streams as headers only', async () => {
    const plan = await planVhdStream(memorySource(100 * MiB, []));
    assert.deepEqual(plan.blocks, []);
    assert.ok(plan.length < 4096);
  });
});
