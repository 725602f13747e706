/**
 * @module
 * Writes zip archives byte by byte, for the hostile cases no well-behaved tool will make:
 * names with `..`, NUL or backslashes, duplicates, symlink and device modes, and headers that
 * lie about sizes. The layout is the plain PKWARE one (local headers, central directory,
 * end record), so real readers such as `unzip` accept what is well-formed.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface RawEntry {
  name: string | Buffer;
  data?: Buffer;
  /** Compressed bytes to store as-is (method 8), instead of deflating `data`. */
  deflated?: Buffer;
  /** Full st_mode for the external attributes (default 0o100644); 0 for none. */
  mode?: number;
  method?: 0 | 8;
  /** Uncompressed size to write in both headers, whatever the data really is. */
  declaredSize?: number;
  extra?: Buffer;
}

export function rawZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'latin1') : e.name;
    const data = e.data ?? Buffer.alloc(0);
    const method = e.deflated ? 8 : e.method ?? 8;
    const body = e.deflated ?? (method === 8 ? deflateRawSync(data) : data);
    const size = e.declaredSize ?? data.length;
    const crc = e.deflated ? 0 : crc32(data);
    const extra = e.extra ?? Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 30, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    const l = Buffer.concat([local, name, extra, body]);
    locals.push(l);
    centrals.push(Buffer.concat([central, name, extra]));
    offset += l.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
