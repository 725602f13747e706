/**
 * The streaming PDU reader on its own: a stream of PDUs (small, padded, large, with and
 * without digests) cut at every kind of boundary, fed in chunks it may keep and in one
 * reused receive buffer that is scribbled over after each call (how `Wire` feeds it);
 * large data segments copied straight into the buffer `placeData` names; each PDU handed
 * over as soon as its last byte arrives; large segments received in place where the reader
 * asks the socket to read (`readTarget`); lying lengths and bad digests refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32c } from '../../../src/storage/iscsi/crc32c.js';
import { dataSegmentLength, encodePdu, itt, newBhs, Op, u32, type Digests, type Pdu } from '../../../src/storage/iscsi/pdu.js';
import { PduReader } from '../../../src/storage/iscsi/pdu-reader.js';

interface Sent {
  tag: number;
  data: Buffer;
}

/** A stream of Data-In PDUs, tag i carrying `sizes[i]` bytes at offset 0 of read i. */
function stream(sizes: number[], digests: Digests): { wire: Buffer; sent: Sent[] } {
  const sent: Sent[] = [];
  const parts: Buffer[] = [];
  sizes.forEach((n, i) => {
    const bhs = newBhs(Op.DataIn, 0x81);
    bhs.writeUInt32BE(i, 16);
    const data = randomBytes(n);
    sent.push({ tag: i, data });
    parts.push(...encodePdu(bhs, n ? data : undefined, digests));
  });
  return { wire: Buffer.concat(parts), sent };
}

/** Cuts `wire` at the given lengths (cycled) and feeds it through one reused buffer. */
function feedTransient(reader: PduReader, wire: Buffer, cuts: number[]): void {
  const rx = Buffer.alloc(Math.max(...cuts));
  for (let at = 0, i = 0; at < wire.length; i++) {
    const n = Math.min(cuts[i % cuts.length]!, wire.length - at);
    wire.copy(rx, 0, at, at + n);
    reader.feed(rx.subarray(0, n), true);
    rx.fill(0xee); // the socket reuses its buffer: nothing may still point into it
    at += n;
  }
}

/** Changes the first header and gives it a matching digest again. */
function reseal(w: Buffer, change: () => void): void {
  change();
  w.writeUInt32LE(crc32c(w.subarray(0, 48)), 48);
}

const SIZES = [0, 1, 3, 48, 4096, 70_001, 262_144, 5, 131_072, 2];

describe('the streaming PDU reader', () => {
  for (const digests of [{ header: false, data: false }, { header: true, data: true }]) {
    const label = digests.header ? ' with CRC32C digests' : '';
    for (const cuts of [[1], [7, 3, 52], [4096], [65_536, 13], [1 << 20]]) {
      it(`cuts PDUs right from a reused receive buffer fed ${cuts.join('/')} bytes at a time${label}`, () => {
        const { wire, sent } = stream(SIZES, digests);
        const got: Pdu[] = [];
        const homes = new Map<number, Buffer>();
        const r = new PduReader(undefined, (p) => got.push(p), (e) => assert.fail(e));
        r.digests = digests;
        r.maxDataSegment = 1 << 20;
        // Segments of 4 KiB and up have a home, as a read's buffer; smaller ones do not.
        r.placeData = (bhs) => {
          const n = dataSegmentLength(bhs);
          if (n < 4096) return undefined;
          const home = Buffer.alloc(n);
          homes.set(itt(bhs), home);
          return home;
        };
        feedTransient(r, wire, cuts);
        assert.equal(got.length, sent.length);
        got.forEach((p, i) => {
          assert.equal(itt(p.bhs), sent[i]!.tag);
          assert.ok(p.data.equals(sent[i]!.data), `data of PDU ${i} (${sent[i]!.data.length} bytes)`);
          const home = homes.get(i);
          if (home) assert.equal(p.data, home, `PDU ${i} delivered in its home buffer`);
        });
      });
    }
  }

  for (const digests of [{ header: false, data: false }, { header: true, data: true }]) {
    it(`receives large placed segments in place when the socket reads where it asks${digests.header ? ' (CRC32C digests)' : ''}`, () => {
      // How Wire reads: before each socket read it asks readTarget(); the "kernel" writes at
      // most `cut` of the stream's next bytes there (or into the reused buffer), then feeds them.
      const sizes = [8, 1 << 20, 1 << 20, 100, 70_001, 3, 262_144, 0, 1 << 20];
      const { wire, sent } = stream(sizes, digests);
      const got: Pdu[] = [];
      const homes = new Map<number, Buffer>();
      const r = new PduReader(undefined, (p) => got.push(p), (e) => assert.fail(e));
      r.digests = digests;
      r.maxDataSegment = 1 << 20;
      r.placeData = (bhs) => {
        const home = Buffer.alloc(dataSegmentLength(bhs));
        homes.set(itt(bhs), home);
        return home;
      };
      const rx = Buffer.alloc(65_536);
      const inPlace = new Map<number, number>();
      for (let at = 0, i = 0; at < wire.length; i++) {
        const target = r.readTarget();
        const into = target ? Buffer.from(target.buffer, target.byteOffset, target.length) : rx;
        const n = Math.min(into.length, [65_536, 1000, 300_000][i % 3]!, wire.length - at);
        wire.copy(into, 0, at, at + n);
        for (const [tag, home] of homes) if (target && home.buffer === into.buffer) inPlace.set(tag, (inPlace.get(tag) ?? 0) + n);
        r.feed(into.subarray(0, n), true);
        rx.fill(0xee);
        at += n;
      }
      assert.equal(got.length, sent.length);
      got.forEach((p, i) => assert.ok(p.data.equals(sent[i]!.data), `data of PDU ${i} (${sizes[i]} bytes)`));
      // The first bytes of a segment may come with its header into the reused buffer; after a
      // large placed segment the next header is read alone and the segment behind it lands in
      // place but for a last piece under 16 KiB (read with what follows it).
      sizes.forEach((n, i) => {
        if (i > 0 && sizes[i - 1]! >= 65_536 && n >= 65_536) assert.ok(inPlace.get(i)! > n - 16_384, `PDU ${i} received in place`);
        else if (n >= 65_536) assert.ok((inPlace.get(i) ?? 0) >= n - 300_000, `most of PDU ${i} received in place`);
      });
    });
  }

  it('keeps segments of chunks it may keep without copying them', () => {
    const { wire, sent } = stream([100, 8192], { header: false, data: false });
    const got: Pdu[] = [];
    const r = new PduReader(undefined, (p) => got.push(p), (e) => assert.fail(e));
    r.feed(wire, false);
    assert.equal(got.length, 2);
    assert.ok(got[1]!.data.equals(sent[1]!.data));
    assert.equal(got[1]!.data.buffer, wire.buffer, 'a view of the chunk');
  });

  it('hands a PDU over as soon as its last byte arrives, not with the next chunk', () => {
    for (const digests of [{ header: false, data: false }, { header: true, data: true }]) {
      for (const n of [0, 3, 4096, 8192]) {
        const { wire } = stream([n], digests);
        const got: Pdu[] = [];
        const r = new PduReader(undefined, (p) => got.push(p), (e) => assert.fail(e));
        r.digests = digests;
        r.placeData = (bhs) => Buffer.alloc(dataSegmentLength(bhs));
        r.feed(wire.subarray(0, wire.length - 1), true);
        assert.equal(got.length, 0);
        r.feed(wire.subarray(wire.length - 1), true);
        assert.equal(got.length, 1, `a ${n}-byte PDU${digests.data ? ' with digests' : ''} delivered with its last byte`);
      }
    }
  });

  it('asks where the data goes once the header is in, before the data arrives', () => {
    const { wire } = stream([65_536], { header: false, data: false });
    const asked: number[] = [];
    const r = new PduReader(undefined, () => undefined, (e) => assert.fail(e));
    r.maxDataSegment = 1 << 20;
    r.placeData = (bhs) => {
      asked.push(u32(bhs, 16));
      return Buffer.alloc(dataSegmentLength(bhs));
    };
    r.feed(wire.subarray(0, 48), true);
    assert.deepEqual(asked, [0]);
  });

  for (const [what, corrupt, message] of [
    ['a data segment longer than declared', (w: Buffer) => reseal(w, () => w.writeUIntBE(9000, 5, 3)), /exceeds the declared limit of 8192/],
    ['an AHS', (w: Buffer) => reseal(w, () => (w[4] = 1)), /unexpected AHS/],
    ['a bad header digest', (w: Buffer) => (w[10] ^= 1), /header digest mismatch/],
    ['a bad data digest on a placed segment', (w: Buffer) => (w[60] ^= 1), /data digest mismatch/],
  ] as const) {
    it(`refuses ${what}, stops, and reports it once`, () => {
      const { wire } = stream([4096, 10], { header: true, data: true });
      corrupt(wire);
      const errors: Error[] = [];
      const got: Pdu[] = [];
      const r = new PduReader(undefined, (p) => got.push(p), (e) => errors.push(e));
      r.digests = { header: true, data: true };
      r.placeData = (bhs) => Buffer.alloc(dataSegmentLength(bhs));
      feedTransient(r, wire, [1000]);
      r.feed(wire, true);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, message);
      assert.equal(got.length, 0, 'nothing delivered from a broken stream');
    });
  }
});
