/**
 * @module
 * The hypervisor's console ring, what `xl dmesg` prints on a Xen host: a bounded buffer of
 * timestamped lines (seconds since the host booted), oldest first, with the oldest lines
 * dropped once it is full, as Xen's ring overwrites them. The simulated host writes its
 * boot banner and one line per domain change.
 */

/** Xen's default console ring holds 16 KiB; the simulator keeps as many characters. */
const RING_BYTES = 16 * 1024;

export class ConsoleRing {
  private lines: string[] = [];
  private size = 0;

  constructor(private readonly bootMs: number, private readonly now: () => number = Date.now) {}

  /** Appends one line stamped `(XEN) [    12.345678]` with the time since boot. */
  write(text: string): void {
    const secs = Math.max(0, this.now() - this.bootMs) / 1000;
    const line = `(XEN) [${secs.toFixed(6).padStart(12)}] ${text}`;
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > RING_BYTES && this.lines.length > 1) this.size -= this.lines.shift()!.length + 1;
  }

  /** The whole ring, one line per entry, newline-terminated. */
  read(): string {
    return this.lines.map((l) => `${l}\n`).join('');
  }
}
