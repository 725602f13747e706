/**
 * @module
 * Bodies of handshake options and their replies: NBD_OPT_INFO/GO and metadata-context
 * requests parsed defensively (every length checked against what was actually sent),
 * NBD_INFO_EXPORT and NBD_INFO_BLOCK_SIZE encoded.
 */
import { Info, MAX_PAYLOAD, MAX_STRING } from './protocol.js';

export function infoExport(size: number, flags: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt16BE(Info.EXPORT, 0);
  b.writeBigUInt64BE(BigInt(size), 2);
  b.writeUInt16BE(flags, 10);
  return b;
}

export function infoBlockSize(min = 1, preferred = 4096): Buffer {
  const b = Buffer.allocUnsafe(14);
  b.writeUInt16BE(Info.BLOCK_SIZE, 0);
  b.writeUInt32BE(min, 2);
  b.writeUInt32BE(Math.max(preferred, min, 512), 6);
  b.writeUInt32BE(MAX_PAYLOAD, 10);
  return b;
}

/** `NBD_OPT_INFO`/`GO` data: u32 name length, name, u16 count, count × u16 info types. */
export function parseInfoRequest(d: Buffer): { name: string; infos: number[] } | undefined {
  if (d.length < 6) return undefined;
  const nameLen = d.readUInt32BE(0);
  if (nameLen > d.length - 6 || nameLen > MAX_STRING) return undefined;
  const name = d.toString('utf8', 4, 4 + nameLen);
  const n = d.readUInt16BE(4 + nameLen);
  if (d.length !== 6 + nameLen + 2 * n) return undefined;
  const infos: number[] = [];
  for (let i = 0; i < n; i++) infos.push(d.readUInt16BE(6 + nameLen + 2 * i));
  return { name, infos };
}

/** Metadata context data: u32 name length, name, u32 count, count × (u32 length, query). */
export function parseMetaRequest(d: Buffer): { name: string; queries: string[] } | undefined {
  let p = 0;
  const str = (): string | undefined => {
    if (p + 4 > d.length) return undefined;
    const l = d.readUInt32BE(p);
    if (l > MAX_STRING || p + 4 + l > d.length) return undefined;
    p += 4 + l;
    return d.toString('utf8', p - l, p);
  };
  const name = str();
  if (name === undefined || p + 4 > d.length) return undefined;
  const n = d.readUInt32BE(p);
  p += 4;
  const queries: string[] = [];
  for (let i = 0; i < n; i++) {
    const q = str();
    if (q === undefined) return undefined;
    queries.push(q);
  }
  return p === d.length ? { name, queries } : undefined;
}
