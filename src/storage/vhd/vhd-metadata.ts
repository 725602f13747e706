/**
 * @module
 * Rewrites of a VHD's metadata: growing the virtual size, re-pointing a differencing disk at
 * another parent (coalesce and rebase), and the footer flags. Each writes new data before the
 * structure that points at it, so an interrupted rewrite leaves the old state readable.
 */
import { stat } from 'node:fs/promises';
import { batCapacity, padToSector, serializeBat } from './bat.js';
import { locatorSpace, PlatformCode, serializeDynamicHeader, UNUSED_BAT_ENTRY } from './dynamic-header.js';
import { check, VhdError } from './errors.js';
import { DiskType, MAX_VHD_SIZE } from './footer.js';
import { geometryForSize } from './geometry.js';
import { decodeLocator, encodeLocator, locatorSpaceFor, MAX_LOCATOR_BYTES, parentUnicodeName, relativeParentPath, WRITTEN_LOCATOR_CODES } from './parent-locator.js';
import { vhdTimestamp } from './uuid-bytes.js';
import { openState } from './vhd-open.js';
import { assertWritable, ensureFooterAt, readAt, writeFooters, writeFully, type VhdState } from './vhd-state.js';

const ZERO_CHUNK = 8 * 1024 * 1024;

async function writeHeader(st: VhdState): Promise<void> {
  const buf = serializeDynamicHeader(st.header!);
  st.header = { ...st.header!, checksum: buf.readUInt32BE(36) };
  await writeFully(st.fh, buf, st.footer.dataOffset!);
}

/** Appends `bytes` of new metadata after the used area; returns where it goes. */
async function appendMetadata(st: VhdState, bytes: number, what: string): Promise<number> {
  const pos = padToSector(st.dataEnd);
  await ensureFooterAt(st, pos + bytes);
  st.dataEnd = pos + bytes;
  st.metadata.push({ start: pos, end: pos + bytes, what });
  return pos;
}

async function growFixed(st: VhdState, newSize: number): Promise<void> {
  const old = st.footer.currentSize;
  await ensureFooterAt(st, newSize);
  const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, newSize - old));
  // Thick stays thick: the new tail is really allocated.
  for (let at = old; at < newSize; at += zeros.length) {
    await writeFully(st.fh, zeros.subarray(0, Math.min(zeros.length, newSize - at)), at);
  }
  st.dataEnd = newSize;
}

async function growBat(st: VhdState, entries: number): Promise<void> {
  const hdr = st.header!;
  const old = st.bat!;
  const bat = new Uint32Array(entries).fill(UNUSED_BAT_ENTRY);
  bat.set(old);
  if (entries <= batCapacity(old.length)) {
    // The padding of the on-disk BAT already has room; make sure it holds "unused" entries.
    await writeFully(st.fh, Buffer.alloc((entries - old.length) * 4, 0xff), hdr.tableOffset + old.length * 4);
  } else {
    const bytes = padToSector(entries * 4);
    const pos = await appendMetadata(st, bytes, 'BAT');
    await writeFully(st.fh, serializeBat(bat, bytes), pos);
    st.metadata = st.metadata.filter((m) => !(m.what === 'BAT' && m.start === hdr.tableOffset));
    st.header = { ...hdr, tableOffset: pos };
  }
  st.header = { ...st.header!, maxTableEntries: entries };
  await writeHeader(st);
  st.bat = bat;
}

export async function resize(st: VhdState, newSize: number): Promise<void> {
  assertWritable(st);
  check(Number.isSafeInteger(newSize) && newSize % 512 === 0, 'INVALID_ARGUMENT', `size ${newSize} is not a whole number of sectors`, st.path);
  check(newSize <= MAX_VHD_SIZE, 'BAD_SIZE', `size ${newSize} exceeds 2040 GiB`, st.path);
  check(newSize >= st.footer.currentSize, 'INVALID_ARGUMENT', 'shrinking a VHD is not supported', st.path);
  await st.metaLock.run(0, async () => {
    if (newSize === st.footer.currentSize) return;
    if (!st.header) await growFixed(st, newSize);
    else {
      const entries = Math.ceil(newSize / st.header.blockSize);
      if (entries > st.header.maxTableEntries) await growBat(st, entries);
    }
    st.footer = { ...st.footer, currentSize: newSize, geometry: geometryForSize(newSize) };
    await writeFooters(st);
  });
}

/** Decoded parent paths of the locators, best first (MacX, W2ru, W2ku as blktap reads them). */
export async function parentLocatorPaths(st: VhdState): Promise<string[]> {
  if (st.footer.diskType !== DiskType.Differencing) return [];
  const order = [PlatformCode.MacX, PlatformCode.W2ru, PlatformCode.W2ku];
  const locs = st.header!.locators.filter((l) => order.includes(l.code as never));
  locs.sort((a, b) => order.indexOf(a.code as never) - order.indexOf(b.code as never));
  const out: string[] = [];
  for (const loc of locs) {
    const len = loc.dataLength;
    if (len === 0 || len > MAX_LOCATOR_BYTES || len > locatorSpace(loc)) continue;
    if (loc.dataOffset < 512 || loc.dataOffset + len > st.footerOffset) continue;
    const name = decodeLocator(loc.code, await readAt(st.fh, loc.dataOffset, len));
    if (name !== null && !out.includes(name)) out.push(name);
  }
  return out;
}

export async function setParent(st: VhdState, parentPath: string): Promise<void> {
  assertWritable(st);
  if (st.footer.diskType !== DiskType.Differencing) {
    throw new VhdError('NOT_DIFFERENCING', 'only a differencing VHD has a parent', st.path);
  }
  const parent = await openState(parentPath, true);
  const parentUuid = parent.footer.uuid;
  await parent.fh.close();
  const parentMtime = (await stat(parentPath)).mtime;
  const rel = relativeParentPath(st.path, parentPath);
  await st.metaLock.run(0, async () => {
    const locators = st.header!.locators.map((l) => ({ ...l }));
    // Locators of other codes would still name the old parent: drop them.
    // (blktap's checker wants unused entries all zero.)
    for (const l of locators) {
      if (!WRITTEN_LOCATOR_CODES.includes(l.code as never)) Object.assign(l, { code: PlatformCode.None, dataSpace: 0, dataLength: 0, dataOffset: 0 });
    }
    for (const code of WRITTEN_LOCATOR_CODES) {
      const payload = encodeLocator(code, rel);
      let loc = locators.find((l) => l.code === code);
      const fits = loc && st.metadata.some((m) => m.what === 'parent locator' && m.start === loc!.dataOffset && m.end - m.start >= payload.length);
      if (!loc || !fits) {
        const slot = loc ?? locators.find((l) => l.code === PlatformCode.None);
        if (!slot) throw new VhdError('BAD_PARENT_LOCATOR', 'no free parent locator entry', st.path);
        const space = locatorSpaceFor(payload);
        const pos = await appendMetadata(st, space, 'parent locator');
        Object.assign(slot, { code, dataSpace: space, dataOffset: pos });
        loc = slot;
      }
      const padded = Buffer.alloc(locatorSpace(loc));
      payload.copy(padded);
      await writeFully(st.fh, padded, loc.dataOffset);
      loc.dataLength = payload.length;
    }
    st.header = {
      ...st.header!,
      parentUuid,
      parentTimestamp: vhdTimestamp(parentMtime),
      parentUnicodeName: parentUnicodeName(parentPath),
      locators,
    };
    await writeHeader(st);
  });
}

export async function setFooterFields(st: VhdState, fields: { hidden?: number; uuid?: string }): Promise<void> {
  assertWritable(st);
  await st.metaLock.run(0, async () => {
    st.footer = { ...st.footer, ...fields };
    await writeFooters(st);
  });
}
