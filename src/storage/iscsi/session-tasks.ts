/**
 * @module
 * The task table of an initiator session: every command and immediate PDU waiting for an
 * answer, by initiator task tag, and the queue of commands not yet sent (the CmdSN window
 * was full, or the connection is being re-established). Each task keeps the order it was
 * issued in, so that after a lost connection the unanswered ones go out again oldest
 * first: a newer write is never overtaken by an older one to the same blocks.
 */
import type { Pdu } from './pdu.js';
import type { ScsiOutcome } from './scsi-outcome.js';

export interface Task {
  /** Issue order, kept across re-issues. */
  seq: number;
  itt: number;
  lun: number;
  /** The CDB padded to 16 bytes. */
  cdb: Buffer;
  dataOut?: Buffer;
  readLength: number;
  readBuf?: Buffer;
  resolve: (o: ScsiOutcome) => void;
  reject: (e: Error) => void;
  /** Sent on the current connection. */
  sent: boolean;
  unitAttentions: number;
  /** For NOP-Out pings and Text/Logout: answered by the PDU that carries the ITT back. */
  rawDone?: (p: Pdu) => void;
}

export class TaskTable {
  private readonly byItt = new Map<number, Task>();
  private readonly waiting: Task[] = [];
  private nextItt = 1;
  private seq = 0;
  private bytes = 0;

  nextSeq(): number {
    return this.seq++;
  }

  /** Tasks sent and not answered. */
  get inFlight(): number {
    return this.byItt.size;
  }

  /** Data the outstanding tasks move (read lengths plus write lengths). */
  get bytesInFlight(): number {
    return this.bytes;
  }

  /** Data the next queued command would move, or undefined when none is queued. */
  get nextBytes(): number | undefined {
    const t = this.waiting[0];
    return t ? dataBytes(t) : undefined;
  }

  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  get idle(): boolean {
    return this.byItt.size === 0 && this.waiting.length === 0;
  }

  get(itt: number): Task | undefined {
    return this.byItt.get(itt);
  }

  /** Removes an answered task; undefined when the tag is not outstanding. */
  take(itt: number): Task | undefined {
    const t = this.byItt.get(itt);
    if (t) {
      this.byItt.delete(itt);
      this.bytes -= dataBytes(t);
    }
    return t;
  }

  enqueue(t: Task): void {
    this.waiting.push(t);
  }

  /** Back to the head of the queue (a retry keeps its place ahead of newer commands). */
  requeue(t: Task): void {
    t.sent = false;
    this.waiting.unshift(t);
  }

  /** The next command to send, now tagged and outstanding. */
  dequeue(): Task | undefined {
    const t = this.waiting.shift();
    if (t) this.track(t);
    return t;
  }

  /** Tags a task and makes it outstanding (immediate PDUs skip the queue). */
  track(t: Task): void {
    t.itt = this.newItt();
    this.byItt.set(t.itt, t);
    this.bytes += dataBytes(t);
  }

  /**
   * The connection is gone: immediate PDUs (pings, text) die with it and are returned for
   * rejection; SCSI commands stay, marked unsent, for `reissue`.
   */
  connectionLost(): Task[] {
    const dead: Task[] = [];
    for (const t of this.byItt.values()) {
      if (t.rawDone) {
        this.byItt.delete(t.itt);
        this.bytes -= dataBytes(t);
        dead.push(t);
      } else t.sent = false;
    }
    return dead;
  }

  /** Puts every unanswered command back at the head of the queue, oldest first. */
  reissue(): number {
    const old = [...this.byItt.values()].sort((a, b) => a.seq - b.seq);
    this.byItt.clear();
    this.bytes = 0;
    this.waiting.unshift(...old);
    return old.length;
  }

  /** Empties the table; the caller rejects what it returns. */
  drain(): Task[] {
    const all = [...this.byItt.values(), ...this.waiting.splice(0)];
    this.byItt.clear();
    this.bytes = 0;
    return all;
  }

  private newItt(): number {
    for (;;) {
      const t = this.nextItt;
      this.nextItt = this.nextItt >= 0x7fffffff ? 1 : this.nextItt + 1;
      if (!this.byItt.has(t)) return t;
    }
  }
}

function dataBytes(t: Task): number {
  return t.readLength + (t.dataOut?.length ?? 0);
}
