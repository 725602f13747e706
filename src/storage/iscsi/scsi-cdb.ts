/**
 * @module
 * The CDBs Islet's initiator sends (SPC-4 / SBC-3), built from numbers.
 */
export const cdb = {
  testUnitReady: (): Buffer => Buffer.alloc(6),
  inquiry(evpd: boolean, page: number, alloc: number): Buffer {
    const b = Buffer.alloc(6);
    b[0] = 0x12;
    b[1] = evpd ? 1 : 0;
    b[2] = page;
    b.writeUInt16BE(alloc, 3);
    return b;
  },
  readCapacity10: (): Buffer => Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  readCapacity16(alloc = 32): Buffer {
    const b = Buffer.alloc(16);
    b[0] = 0x9e;
    b[1] = 0x10;
    b.writeUInt32BE(alloc, 10);
    return b;
  },
  getLbaStatus(lba: number, alloc: number): Buffer {
    const b = Buffer.alloc(16);
    b[0] = 0x9e;
    b[1] = 0x12;
    b.writeBigUInt64BE(BigInt(lba), 2);
    b.writeUInt32BE(alloc, 10);
    return b;
  },
  rw16(write: boolean, lba: number, blocks: number, fua = false): Buffer {
    const b = Buffer.alloc(16);
    b[0] = write ? 0x8a : 0x88;
    if (fua) b[1] = 0x08;
    b.writeBigUInt64BE(BigInt(lba), 2);
    b.writeUInt32BE(blocks, 10);
    return b;
  },
  writeSame16(lba: number, blocks: number, unmap: boolean): Buffer {
    const b = Buffer.alloc(16);
    b[0] = 0x93;
    if (unmap) b[1] = 0x08;
    b.writeBigUInt64BE(BigInt(lba), 2);
    b.writeUInt32BE(blocks, 10);
    return b;
  },
  unmap(paramLen: number): Buffer {
    const b = Buffer.alloc(10);
    b[0] = 0x42;
    b.writeUInt16BE(paramLen, 7);
    return b;
  },
  syncCache16(): Buffer {
    const b = Buffer.alloc(16);
    b[0] = 0x91;
    return b;
  },
  syncCache10: (): Buffer => Buffer.from([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  reportLuns(alloc: number): Buffer {
    const b = Buffer.alloc(12);
    b[0] = 0xa0;
    b.writeUInt32BE(alloc, 6);
    return b;
  },
};

/** UNMAP parameter list for (lba, blocks) descriptors. */
export function unmapParameters(ranges: readonly [number, number][]): Buffer {
  const b = Buffer.alloc(8 + 16 * ranges.length);
  b.writeUInt16BE(6 + 16 * ranges.length, 0);
  b.writeUInt16BE(16 * ranges.length, 2);
  ranges.forEach(([lba, blocks], i) => {
    b.writeBigUInt64BE(BigInt(lba), 8 + 16 * i);
    b.writeUInt32BE(blocks, 16 + 16 * i);
  });
  return b;
}
