/**
 * @module
 * What one SCSI command run over iSCSI comes back with, and how the initiator reads it:
 * the status, the data read, the sense data of a failure, and the residual the target
 * reported. Kept apart from the session so the block device (which judges outcomes) and
 * the session (which produces them) share one vocabulary without depending on each other.
 */

export interface ScsiOutcome {
  status: number;
  data: Buffer;
  sense?: Buffer;
  /** Bytes the target did not transfer (underflow) — positive — or could not (overflow) — negative. */
  residual: number;
}

/** The residual of a SCSI Response or final Data-In: U (0x02) is underflow, O (0x04) overflow. */
export function residualOf(flagsByte: number, count: number): number {
  if (flagsByte & 0x02) return count;
  if (flagsByte & 0x04) return -count;
  return 0;
}

export function senseKey(sense: Buffer): number {
  return senseCodes(sense).key;
}

/** Sense key, ASC and ASCQ from fixed (0x70/0x71) or descriptor (0x72/0x73) sense data. */
export function senseCodes(sense: Buffer): { key: number; asc: number; ascq: number } {
  const code = sense[0]! & 0x7f;
  if (code === 0x72 || code === 0x73) return { key: sense[1]! & 0x0f, asc: sense[2] ?? 0, ascq: sense[3] ?? 0 };
  return { key: (sense[2] ?? 0) & 0x0f, asc: sense[12] ?? 0, ascq: sense[13] ?? 0 };
}
