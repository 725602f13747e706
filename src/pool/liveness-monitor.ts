/**
 * @module
 * The master's view of which hosts are alive. Members send a heartbeat every few seconds;
 * a host silent for longer than the liveness timeout gets `host_metrics.live = false`
 * (clients and placement see it, `callOnHost` answers HOST_OFFLINE for it) and becomes
 * live again with its next heartbeat. A master that has just started gives every member
 * one full timeout to show up before judging it, since it cannot know when they last spoke.
 * Only changes are written, so a quiet pool causes no events. A host marked dead because it
 * is going down stays dead through the heartbeats its old toolstack still sends (one may be
 * under way, or the toolstack may beat again before its supervisor stops it): only a
 * heartbeat from a new toolstack (another `agent_start_time`) brings it back, or, should
 * the host not go down after all, its heartbeats once a whole timeout has passed.
 */
import type { PoolDb } from '../core/ports/pool-db.js';
import { isNullRef, xapiDate, type Ref } from '../core/ref.js';

export interface LivenessOptions {
  readonly db: PoolDb;
  readonly self: Ref<'host'>;
  readonly timeoutMs: number;
  readonly now?: () => number;
  readonly log?: (msg: string) => void;
  /** Called when a host is judged dead, to abandon calls in flight to it. */
  readonly onDead?: (host: Ref<'host'>) => void;
}

export class LivenessMonitor {
  readonly #last = new Map<string, number>();
  /** Hosts marked dead on purpose: the agent_start_time of the toolstack going away, and when. */
  readonly #goingAway = new Map<string, { agentStart: string; at: number }>();
  readonly #o: LivenessOptions;
  readonly #now: () => number;
  #startedAt = 0;
  #lastCheck = 0;
  #every = 1000;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: LivenessOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  start(): void {
    this.#startedAt = this.#now();
    this.#lastCheck = this.#startedAt;
    this.#setLive(this.#o.self, true);
    this.#every = Math.max(100, Math.min(1000, Math.floor(this.#o.timeoutMs / 5)));
    this.#timer = setInterval(() => this.check(), this.#every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A member spoke: it is live from now on. */
  heartbeat(host: Ref<'host'>): void {
    const gone = this.#goingAway.get(host);
    if (gone) {
      const sameToolstack = agentStartOf(this.#o.db, host) === gone.agentStart;
      if (sameToolstack && this.#now() - gone.at <= this.#o.timeoutMs) return;
      this.#goingAway.delete(host);
    }
    this.#last.set(host, this.#now());
    this.#setLive(host, true);
  }

  /** The host is known to be going away (reboot, shutdown): no need to wait for silence. */
  markDead(host: Ref<'host'>): void {
    this.#last.set(host, -Infinity);
    const agentStart = agentStartOf(this.#o.db, host);
    if (agentStart) this.#goingAway.set(host, { agentStart, at: this.#now() });
    if (this.#setLive(host, false)) this.#o.onDead?.(host);
  }

  isLive(host: Ref<'host'>): boolean {
    if (host === this.#o.self) return true;
    return liveInDb(this.#o.db, host);
  }

  /** Judges every member now (the timer does it regularly). */
  check(): void {
    const now = this.#now();
    // A master that was itself stalled (a long synchronous job, an overloaded machine) has
    // not been reading heartbeats meanwhile: the stall is not the members' silence.
    const stalled = now - this.#lastCheck - this.#every;
    this.#lastCheck = now;
    if (stalled > Math.max(1000, this.#o.timeoutMs / 4)) {
      for (const [h, t] of this.#last) this.#last.set(h, t + stalled);
      this.#startedAt += stalled;
    }
    for (const [ref] of this.#o.db.all('host')) {
      if (ref === this.#o.self) continue;
      const last = this.#last.get(ref) ?? this.#startedAt;
      if (now - last > this.#o.timeoutMs && liveInDb(this.#o.db, ref)) {
        this.#o.log?.(`pool: host ${ref} missed its heartbeats for ${Math.round((now - last) / 1000)} s; marking it not live`);
        if (this.#setLive(ref, false)) this.#o.onDead?.(ref);
      }
    }
  }

  /** Returns whether anything changed. */
  #setLive(host: Ref<'host'>, live: boolean): boolean {
    const db = this.#o.db;
    const metrics = db.get('host', host)?.metrics;
    if (typeof metrics !== 'string' || isNullRef(metrics) || !db.get('host_metrics', metrics)) return false;
    if (db.get('host_metrics', metrics)!.live === live) return false;
    db.update('host_metrics', metrics, { live, last_updated: xapiDate() });
    return true;
  }
}

/** `host_metrics.live` of a host as the database says (false when it has no metrics). */
export function liveInDb(db: PoolDb, host: Ref<'host'>): boolean {
  const metrics = db.get('host', host)?.metrics;
  if (typeof metrics !== 'string' || isNullRef(metrics)) return false;
  return db.get('host_metrics', metrics)?.live === true;
}

/** The start time of the host's toolstack as its heartbeats last reported it ('' if unknown). */
function agentStartOf(db: PoolDb, host: Ref<'host'>): string {
  const oc = db.get('host', host)?.other_config as Record<string, string> | undefined;
  return oc?.agent_start_time ?? '';
}
