/**
 * @module
 * A cap on the connections one peer (remote address) may hold open on a listener, so that
 * a single client cannot exhaust the host's file descriptors. The API listener's guard and
 * the NBD listener share it; each listener has its own count. Refusals are counted and
 * logged at most once a minute per peer, and the table of log times is bounded.
 */
import type { Socket } from 'node:net';

/** Longest gap between two log lines about one peer. */
const LOG_EVERY_MS = 60_000;
/** Peers whose last log time is remembered; the oldest are forgotten beyond this. */
const MAX_LOGGED_PEERS = 10_000;

export class PeerCap {
  readonly #perPeer = new Map<string, number>();
  readonly #lastLog = new Map<string, number>();
  refused = 0;

  constructor(
    readonly maxPerPeer: number,
    private readonly log: (msg: string) => void,
    private readonly what = 'listener',
  ) {}

  /**
   * Counts a new connection against its peer, and releases it when the socket closes;
   * false (and the socket destroyed) when the peer holds `maxPerPeer` already.
   */
  admit(raw: Socket): boolean {
    const release = this.take(raw.remoteAddress ?? 'unknown');
    if (!release) {
      raw.destroy();
      return false;
    }
    raw.once('close', release);
    return true;
  }

  /**
   * Counts a connection from `peer`: the function that releases it (once), or undefined
   * when the peer holds `maxPerPeer` already. For listeners whose connections outlive
   * the socket object they were accepted on.
   */
  take(peer: string): (() => void) | undefined {
    const n = this.#perPeer.get(peer) ?? 0;
    if (n >= this.maxPerPeer) {
      this.refused++;
      this.note(peer, `refused a connection from ${peer}: it holds ${n} already (limit ${this.maxPerPeer})`);
      return undefined;
    }
    this.#perPeer.set(peer, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#perPeer.get(peer) ?? 1) - 1;
      if (left > 0) this.#perPeer.set(peer, left);
      else this.#perPeer.delete(peer);
    };
  }

  /** Connections a peer holds now. */
  held(peer: string): number {
    return this.#perPeer.get(peer) ?? 0;
  }

  /** Logs `msg` unless this peer was logged about within the last minute. */
  note(peer: string, msg: string): void {
    const now = Date.now();
    if (now - (this.#lastLog.get(peer) ?? 0) < LOG_EVERY_MS) return;
    this.#lastLog.delete(peer);
    this.#lastLog.set(peer, now);
    if (this.#lastLog.size > MAX_LOGGED_PEERS) this.#lastLog.delete(this.#lastLog.keys().next().value!);
    this.log(`${this.what}: ${msg}`);
  }
}
