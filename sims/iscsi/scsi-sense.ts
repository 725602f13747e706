/**
 * @module
 * SCSI status and fixed-format sense data (SPC-4 §4.5.3) for the simulated target.
 */
export const Status = { Good: 0x00, CheckCondition: 0x02, Busy: 0x08, TaskSetFull: 0x28 } as const;
export const SenseKey = { NoSense: 0, NotReady: 2, MediumError: 3, HardwareError: 4, IllegalRequest: 5, UnitAttention: 6, DataProtect: 7 } as const;

export interface ScsiResult {
  status: number;
  /** Data-In for a read-direction command (before truncation to the expected length). */
  data?: Buffer;
  /** Fixed-format sense for CHECK CONDITION. */
  sense?: Buffer;
}

export function senseData(key: number, asc: number, ascq: number): Buffer {
  const s = Buffer.alloc(18);
  s[0] = 0x70;
  s[2] = key & 0x0f;
  s[7] = 10;
  s[12] = asc;
  s[13] = ascq;
  return s;
}

export const check = (key: number, asc: number, ascq = 0): ScsiResult => ({ status: Status.CheckCondition, sense: senseData(key, asc, ascq) });
export const good = (data?: Buffer): ScsiResult => (data ? { status: Status.Good, data } : { status: Status.Good });

export const invalidOpcode = (): ScsiResult => check(SenseKey.IllegalRequest, 0x20);
export const invalidField = (): ScsiResult => check(SenseKey.IllegalRequest, 0x24);
export const invalidParameter = (): ScsiResult => check(SenseKey.IllegalRequest, 0x26);
export const parameterLengthError = (): ScsiResult => check(SenseKey.IllegalRequest, 0x1a);
export const lbaOutOfRange = (): ScsiResult => check(SenseKey.IllegalRequest, 0x21);
export const lunNotSupported = (): ScsiResult => check(SenseKey.IllegalRequest, 0x25);
export const internalFailure = (): ScsiResult => check(SenseKey.HardwareError, 0x44);
