/**
 * @module
 * The toolstack's recent log, kept in memory as well as written out: the newest lines
 * (up to 256 KiB), each stamped with its UTC time. `host.get_log` answers from it, which
 * is what `xe log-get` and `xe host-logs-download` print and save; the full log stays
 * wherever the process's stderr goes (`toolstack.log` under `islet pool up`).
 */

const RING_CHARS = 256 * 1024;

export class LogRing {
  private lines: string[] = [];
  private size = 0;

  constructor(private readonly limit = RING_CHARS) {}

  /** A log function that records each message and passes it on to `next`. */
  tee(next: (m: string) => void): (m: string) => void {
    return (m: string) => {
      this.add(m);
      next(m);
    };
  }

  add(message: string): void {
    for (const part of message.split('\n')) {
      const line = `${new Date().toISOString()} ${part}`;
      this.lines.push(line);
      this.size += line.length + 1;
    }
    while (this.size > this.limit && this.lines.length > 1) this.size -= this.lines.shift()!.length + 1;
  }

  /** The kept lines, oldest first, newline-terminated. */
  text(): string {
    return this.lines.map((l) => `${l}\n`).join('');
  }
}
