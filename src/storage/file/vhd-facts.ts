/**
 * @module
 * What the SR needs to know of a VHD file without reading its block table: footer and
 * header (two small reads), whether it may hold data of its own, and rewriting the footer's
 * uuid and hidden flag in place. These keep snapshot and scan costs independent of the
 * disk's virtual size; the full checks run whenever a chain is opened for I/O or a copy.
 */
import { open } from 'node:fs/promises';
import { padToSector } from '../vhd/bat.js';
import { HEADER_SIZE, parseDynamicHeader, type DynamicHeader } from '../vhd/dynamic-header.js';
import { VhdError } from '../vhd/errors.js';
import { DiskType, FOOTER_SIZE, parseFooter, serializeFooter, type Footer } from '../vhd/footer.js';
import { metadataRanges } from '../vhd/layout.js';
import { readAt, writeFully } from '../vhd/vhd-state.js';

export interface VhdFacts {
  footer: Footer;
  header: DynamicHeader | null;
  fileSize: number;
}

export async function readFacts(path: string): Promise<VhdFacts> {
  const fh = await open(path, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    if (fileSize < FOOTER_SIZE) throw new VhdError('TRUNCATED', `file of ${fileSize} bytes has no footer`, path);
    const footer = parseFooter(await readAt(fh, fileSize - FOOTER_SIZE, FOOTER_SIZE), path);
    if (footer.diskType === DiskType.Fixed) return { footer, header: null, fileSize };
    if (footer.dataOffset === null || footer.dataOffset + HEADER_SIZE > fileSize) throw new VhdError('BAD_LAYOUT', 'dynamic header outside the file', path);
    return { footer, header: parseDynamicHeader(await readAt(fh, footer.dataOffset, HEADER_SIZE), path), fileSize };
  } finally {
    await fh.close();
  }
}

/**
 * False only when the file is its metadata and nothing else, so no block can be in it:
 * blocks always lie outside the metadata, and a file whose metadata tiles it from the
 * start to the footer has no room for one. Anything else (a block, a BAT moved by a resize,
 * a blktap batmap) answers true, which at worst costs a snapshot one extra layer.
 */
export function mayHaveData(f: VhdFacts): boolean {
  if (!f.header) return true;
  const bat = { start: f.header.tableOffset, end: f.header.tableOffset + padToSector(f.header.maxTableEntries * 4), what: 'BAT' };
  const ranges = metadataRanges(f.footer, f.header, bat, [], f.fileSize).sort((a, b) => a.start - b.start);
  let covered = 0;
  for (const r of ranges) {
    if (r.start > covered) return true;
    covered = Math.max(covered, r.end);
  }
  return covered !== f.fileSize - FOOTER_SIZE;
}

/** Sets the uuid and hidden flag in the footer (and its copy at 0), without opening the BAT. */
export async function rewriteFooter(path: string, fields: { uuid: string; hidden: boolean }): Promise<void> {
  const facts = await readFacts(path);
  const footer: Footer = { ...facts.footer, uuid: fields.uuid, hidden: fields.hidden ? 1 : 0 };
  if (facts.footer.uuid === fields.uuid && (facts.footer.hidden !== 0) === fields.hidden) return;
  const buf = serializeFooter(footer);
  const fh = await open(path, 'r+');
  try {
    // The footer at the end is the one readers trust: it goes first.
    await writeFully(fh, buf, facts.fileSize - FOOTER_SIZE);
    if (facts.header) await writeFully(fh, buf, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
