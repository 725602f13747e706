/**
 * @module
 * The initiator's sequence numbers (RFC 7143 §4.2.2): CmdSN numbers each non-immediate
 * command, and the target's ExpCmdSN..MaxCmdSN says which of them it will take now;
 * ExpStatSN acknowledges the target's status numbers. Every PDU from the target may move
 * the window; a MaxCmdSN below ExpCmdSN-1 is invalid and ignored, and the window never
 * shrinks, so a late PDU carrying older numbers changes nothing.
 */
import { snLess, u32 } from './pdu.js';

export class CmdWindow {
  /** The CmdSN the next command gets. */
  cmdSN = 1;
  /** The StatSN we expect next (acknowledges every status before it). */
  expStatSN = 0;
  private maxCmdSN = 1;

  /** After a login: where the target says numbering stands. */
  reset(expStatSN: number, expCmdSN: number, maxCmdSN: number): void {
    this.expStatSN = expStatSN;
    this.maxCmdSN = snLess(maxCmdSN, (expCmdSN - 1) >>> 0) ? expCmdSN : maxCmdSN;
    this.cmdSN = expCmdSN;
  }

  /** Whether the target takes a command numbered `cmdSN` now. */
  get open(): boolean {
    return !snLess(this.maxCmdSN, this.cmdSN);
  }

  /** Numbers one command. */
  take(): number {
    const sn = this.cmdSN;
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    return sn;
  }

  /** Takes StatSN (when the PDU carries a status) and ExpCmdSN/MaxCmdSN from a target PDU. */
  update(bhs: Buffer, consumesStatSN: boolean): void {
    if (consumesStatSN) {
      const statSN = u32(bhs, 24);
      if (!snLess(statSN, this.expStatSN)) this.expStatSN = (statSN + 1) >>> 0;
    }
    const exp = u32(bhs, 28);
    const max = u32(bhs, 32);
    if (!snLess(max, (exp - 1) >>> 0) && snLess(this.maxCmdSN, max)) this.maxCmdSN = max;
  }
}
