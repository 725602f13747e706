/**
 * @module
 * The initiator's keep-alive (RFC 7143 §11.18): after a stretch of silence from the
 * target — while commands wait for answers, or now and then when idle — a NOP-Out ping
 * goes out, and a ping left unanswered too long ends the connection, so that a target
 * that stalled without closing its socket is found and the session recovers instead of
 * waiting for ever. Apart from the session so its timers have one owner.
 */

export interface Ping {
  /** Settles when the target answers (or the ping fails). */
  answer: Promise<unknown>;
  /** Called when the answer does not come in time. */
  expire: () => void;
}

export class KeepAlive {
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();

  constructor(private readonly intervalMs: number, private readonly timeoutMs: number) {}

  /** Anything from the target counts as a sign of life. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  /** Checks twice per interval; `ping` is asked only when `ready()` and nothing was heard for an interval. */
  start(ready: () => boolean, ping: () => Ping | undefined): void {
    this.stop();
    this.timer = setInterval(() => {
      if (this.deadline || !ready() || Date.now() - this.lastHeard < this.intervalMs) return;
      const p = ping();
      if (!p) return;
      this.deadline = setTimeout(() => {
        this.deadline = undefined;
        p.expire();
      }, this.timeoutMs);
      p.answer.then(() => this.settle(), () => this.settle());
    }, Math.max(50, this.intervalMs / 2));
    this.timer.unref();
  }

  /** Forgets the outstanding ping (answered, or its connection is gone anyway). */
  settle(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.settle();
  }
}
