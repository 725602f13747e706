/**
 * @module
 * CHS disk geometry for the VHD footer, by the algorithm of Microsoft's VHD specification
 * (appendix "CHS calculation"). Only BIOS-era guests use it, but readers such as qemu derive
 * the disk size from it for some creators, so it must be exactly the spec's answer.
 */

export interface Geometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

const MAX_CHS_SECTORS = 65535 * 16 * 255;

export function geometryForSize(virtualSize: number): Geometry {
  let total = Math.floor(virtualSize / 512);
  if (total > MAX_CHS_SECTORS) total = MAX_CHS_SECTORS;
  let spt: number;
  let heads: number;
  let cylTimesHeads: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cylTimesHeads = Math.floor(total / spt);
  } else {
    spt = 17;
    cylTimesHeads = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cylTimesHeads + 1023) / 1024));
    if (cylTimesHeads >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cylTimesHeads = Math.floor(total / spt);
    }
    if (cylTimesHeads >= heads * 1024) {
      spt = 63;
      heads = 16;
      cylTimesHeads = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cylTimesHeads / heads), heads, sectorsPerTrack: spt };
}

/** The 4 bytes of the footer's geometry field: cylinders u16, heads u8, sectors/track u8. */
export function encodeGeometry(g: Geometry): number {
  return ((g.cylinders << 16) | (g.heads << 8) | g.sectorsPerTrack) >>> 0;
}

export function decodeGeometry(v: number): Geometry {
  return { cylinders: v >>> 16, heads: (v >>> 8) & 0xff, sectorsPerTrack: v & 0xff };
}
