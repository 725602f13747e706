/**
 * @module
 * A disk's content as a dynamic VHD byte stream, for `GET /export_raw_vdi?format=vhd`: the
 * layout blktap writes (footer copy, dynamic header at 512, BAT at 1536, blocks, footer),
 * holding only the blocks where the source has data. The source's block status is read
 * first to lay out the BAT and each block's sector bitmap, so the stream's length is known
 * before the first byte (a `Content-Length` can be sent) and the data is read once, in order.
 * Blocks go out a few at a time in one buffer (bitmap, data, bitmap, data…), each block's
 * data read straight into its place: a socket write of several MiB per group, no copy of
 * the data, and the buffers are reused once the consumer is done with them.
 */
import { randomUUID } from 'node:crypto';
import { padToSector, serializeBat } from './bat.js';
import { setBits } from './bitmap.js';
import { DEFAULT_BLOCK_SIZE, HEADER_SIZE, newDynamicHeader, UNUSED_BAT_ENTRY, serializeDynamicHeader } from './dynamic-header.js';
import { DiskType, FOOTER_SIZE, newFooter, SECTOR, serializeFooter } from './footer.js';

/** What the stream reads: a disk's size, its zero ranges and its bytes. */
export interface StreamSource {
  readonly size: number;
  /** The bytes at `offset`; a source may fill `into` (and return it) instead of allocating. */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  blockStatus(offset: number, length: number): Promise<ReadonlyArray<{ offset: number; length: number; zero: boolean }>>;
}

export interface VhdStreamPlan {
  /** Virtual size of the VHD: the source's, rounded up to a whole sector. */
  readonly size: number;
  readonly blockSize: number;
  /** Indices of the blocks written, ascending. */
  readonly blocks: readonly number[];
  /** Per written block, its sector bitmap (one bit per sector holding data). */
  readonly bitmaps: ReadonlyMap<number, Buffer>;
  /** Bytes the whole stream has. */
  readonly length: number;
}

const WINDOW = 1024 * 1024 * 1024;
/** Bytes of block data per part of the stream (one socket write). */
const GROUP_BYTES = 4 * 1024 * 1024;
/** Parts being read ahead of the consumer. */
const AHEAD = 3;

function bitmapBytes(blockSize: number): number {
  return padToSector(blockSize / SECTOR / 8);
}

function tableBytes(size: number, blockSize: number): number {
  return padToSector(Math.ceil(size / blockSize) * 4);
}

/** Lays out the stream from the source's block status. */
export async function planVhdStream(src: StreamSource, blockSize = DEFAULT_BLOCK_SIZE): Promise<VhdStreamPlan> {
  const size = Math.ceil(src.size / SECTOR) * SECTOR;
  const bitmaps = new Map<number, Buffer>();
  const perBlock = blockSize / SECTOR;
  for (let w = 0; w < src.size; w += WINDOW) {
    for (const e of await src.blockStatus(w, Math.min(WINDOW, src.size - w))) {
      if (e.zero) continue;
      const end = Math.ceil((e.offset + e.length) / SECTOR);
      for (let s = Math.floor(e.offset / SECTOR); s < end;) {
        const block = Math.floor(s / perBlock);
        const upto = Math.min(end, (block + 1) * perBlock);
        let bm = bitmaps.get(block);
        if (!bm) {
          bm = Buffer.alloc(bitmapBytes(blockSize));
          bitmaps.set(block, bm);
        }
        setBits(bm, s - block * perBlock, upto - s);
        s = upto;
      }
    }
  }
  const blocks = [...bitmaps.keys()].sort((a, b) => a - b);
  const head = FOOTER_SIZE + HEADER_SIZE + tableBytes(size, blockSize);
  const length = head + blocks.length * (bitmapBytes(blockSize) + blockSize) + FOOTER_SIZE;
  return { size, blockSize, blocks, bitmaps, length };
}

/** A piece of the stream; `done`, when present, gives its buffer back for a later read. */
export interface StreamPart {
  readonly data: Buffer;
  readonly done?: () => void;
}

/** The stream's bytes in order; `uuid` names the exported disk. */
export async function* vhdStreamParts(src: StreamSource, plan: VhdStreamPlan, uuid: string = randomUUID()): AsyncGenerator<StreamPart> {
  const { size, blockSize, blocks } = plan;
  const entries = Math.ceil(size / blockSize);
  const tableOffset = FOOTER_SIZE + HEADER_SIZE;
  const bmBytes = bitmapBytes(blockSize);
  const bat = new Uint32Array(entries).fill(UNUSED_BAT_ENTRY);
  let at = tableOffset + tableBytes(size, blockSize);
  for (const b of blocks) {
    bat[b] = at / SECTOR;
    at += bmBytes + blockSize;
  }
  const footer = serializeFooter(newFooter(DiskType.Dynamic, size, uuid));
  yield {
    data: Buffer.concat([
      footer,
      serializeDynamicHeader(newDynamicHeader(tableOffset, entries, blockSize)),
      serializeBat(bat, tableBytes(size, blockSize)),
    ]),
  };
  // Groups of blocks are read a few ahead of the consumer, each block in one read of the
  // block's size into its place (every block listed holds data, so it starts inside the source).
  const per = bmBytes + blockSize;
  const group = Math.max(1, Math.round(GROUP_BYTES / blockSize));
  const free: Buffer[] = [];
  const readGroup = async (first: number): Promise<StreamPart> => {
    const ids = blocks.slice(first, first + group);
    const buf = free.pop() ?? Buffer.allocUnsafeSlow(group * per);
    await Promise.all(ids.map(async (b, j) => {
      const at = j * per;
      plan.bitmaps.get(b)!.copy(buf, at);
      const offset = b * blockSize;
      const length = Math.min(blockSize, src.size - offset);
      const into = buf.subarray(at + bmBytes, at + bmBytes + length);
      const got = await src.read(offset, length, into);
      if (got.buffer !== into.buffer || got.byteOffset !== into.byteOffset) got.copy(into, 0, 0, length);
      if (length < blockSize) buf.fill(0, at + bmBytes + length, at + per);
    }));
    let given = false;
    return {
      data: buf.subarray(0, ids.length * per),
      done: () => {
        if (given) return;
        given = true;
        free.push(buf);
      },
    };
  };
  const queue: Promise<StreamPart>[] = [];
  let next = 0;
  const fill = () => {
    while (queue.length < AHEAD && next < blocks.length) {
      const p = readGroup(next);
      p.catch(() => undefined); // surfaces when the consumer reaches it
      queue.push(p);
      next += group;
    }
  };
  try {
    fill();
    while (queue.length) {
      const part = await queue.shift()!;
      fill();
      yield part;
    }
  } finally {
    // Reads still running finish before the source can be closed.
    await Promise.allSettled(queue);
  }
  yield { data: footer };
}

/** The stream's bytes in order, as plain buffers (each freshly read; nothing is reused). */
export async function* vhdStreamChunks(src: StreamSource, plan: VhdStreamPlan, uuid: string = randomUUID()): AsyncGenerator<Buffer> {
  for await (const part of vhdStreamParts(src, plan, uuid)) yield part.data;
}
