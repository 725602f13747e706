/**
 * The console's mirror of the pool: every record of the classes it shows, filled by one
 * `event.from` with an empty token and kept current by the same call in a loop (no polling
 * of records). When the connection drops (the master restarts, or hands over), it logs in
 * again by itself, following HOST_IS_SLAVE, and refills the mirror; what the user selected
 * and any open wizard stay as they are, because they live outside this module.
 */
import { ConnectionLost, XapiError, describeError, hostRecordOrigin, login, rpc, type Ref, type XRecord } from './xapi';
import type { Role } from './roles';

export const CLASSES = [
  'pool', 'host', 'host_metrics', 'host_patch', 'pool_patch', 'VM', 'VM_metrics', 'SR', 'PBD', 'VDI', 'VBD',
  'task', 'islet_rolling_update', 'SM',
] as const;

export type ConnState = 'signed-out' | 'connecting' | 'connected' | 'reconnecting';

type Listener = () => void;

export class PoolStore {
  readonly objects = new Map<string, Map<Ref, XRecord>>();
  state: ConnState = 'signed-out';
  origin = '';
  session: Ref = '';
  user = '';
  role: Role = 'read-only';
  /**
   * Whether `role` is the signed-in user's yet: the console is not shown before it is, or
   * a user's first sight of it would be the read-only default (actions greyed out, then not).
   */
  roleKnown = false;
  /** Why the connection is down, while reconnecting. */
  lostReason = '';
  version = 0;
  /** Set by the bench/test: called with the time a batch of events was applied. */
  onApplied?: (at: number, refs: string[]) => void;
  private password = '';
  private listeners = new Set<Listener>();
  private loop?: AbortController;
  private token = '';

  constructor() {
    for (const c of CLASSES) this.objects.set(c.toLowerCase(), new Map());
  }

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  getVersion = (): number => this.version;

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }

  all(cls: string): Map<Ref, XRecord> {
    return this.objects.get(cls.toLowerCase()) ?? new Map();
  }
  get(cls: string, ref: Ref | undefined): XRecord | undefined {
    return ref ? this.all(cls).get(ref) : undefined;
  }
  /** Which class holds `ref`, if any. */
  classOf(ref: Ref): string | undefined {
    for (const [cls, m] of this.objects) if (m.has(ref)) return cls;
    return undefined;
  }

  async call(method: string, ...params: unknown[]): Promise<any> {
    try {
      return await rpc(this.origin, method, [this.session, ...params]);
    } catch (e) {
      if (e instanceof ConnectionLost || (e instanceof XapiError && (e.code === 'SESSION_INVALID' || e.code === 'HOST_IS_SLAVE'))) {
        void this.reconnect(describeError(e));
      }
      throw e;
    }
  }

  /** Calls `Async.<method>` and waits for its task through the mirror's events. */
  async callAsync(method: string, onProgress: ((p: number) => void) | undefined, ...params: unknown[]): Promise<string> {
    const task: Ref = await this.call(`Async.${method}`, ...params);
    return this.waitTask(task, onProgress);
  }

  waitTask(task: Ref, onProgress?: (p: number) => void): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const t = this.get('task', task);
        if (!t) return false;
        onProgress?.(Number(t.progress) || 0);
        if (t.status === 'success') { resolve(String(t.result ?? '')); return true; }
        if (t.status === 'failure' || t.status === 'cancelled') {
          const info: string[] = (t.error_info ?? []).map(String);
          reject(new XapiError(info[0] ?? 'TASK_FAILED', info.slice(1)));
          return true;
        }
        return false;
      };
      if (check()) return;
      const off = this.subscribe(() => { if (check()) { off(); void this.call('task.destroy', task).catch(() => {}); } });
    });
  }

  async signIn(origin: string, user: string, password: string): Promise<void> {
    this.state = 'connecting';
    this.roleKnown = false;
    this.changed();
    try {
      const l = await login(origin, user, password);
      this.origin = l.origin;
      this.session = l.session;
      this.user = user;
      this.password = password;
      // The role and the mirror do not depend on each other: ask for both at once.
      const role = this.findRole().then((r) => {
        this.role = r;
        this.roleKnown = true;
        this.changed();
      });
      await Promise.all([role, this.refill()]);
      this.state = 'connected';
      this.changed();
      this.startLoop();
    } catch (e) {
      this.state = 'signed-out';
      this.changed();
      throw e;
    }
  }

  async signOut(): Promise<void> {
    this.loop?.abort();
    const s = this.session;
    this.session = '';
    this.password = '';
    this.state = 'signed-out';
    for (const m of this.objects.values()) m.clear();
    this.changed();
    if (s) await rpc(this.origin, 'session.logout', [s]).catch(() => {});
  }

  private async findRole(): Promise<Role> {
    const rec = await rpc(this.origin, 'session.get_record', [this.session, this.session]);
    if (rec.is_local_superuser) return 'pool-admin';
    const subject = rec.subject;
    if (!subject || subject === 'OpaqueRef:NULL') return 'read-only';
    // The subject's roles by name (its permissions are per call, as XenServer lists them).
    const roles: string[] = await rpc(this.origin, 'subject.get_roles', [this.session, subject]);
    const names: string[] = await Promise.all(roles.map((r) => rpc(this.origin, 'role.get_name_label', [this.session, r])));
    const order: Role[] = ['pool-admin', 'pool-operator', 'vm-power-admin', 'vm-admin', 'vm-operator', 'read-only'];
    return order.find((r) => names.includes(r)) ?? 'read-only';
  }

  /** The whole mirror from an empty token: every live object arrives as an `add`. */
  private async refill(): Promise<void> {
    const r = await rpc(this.origin, 'event.from', [this.session, CLASSES, '', 0]);
    for (const m of this.objects.values()) m.clear();
    this.apply(r.events);
    this.token = r.token;
  }

  private apply(events: Array<{ class: string; operation: string; ref: Ref; snapshot?: XRecord }>): void {
    const refs: string[] = [];
    for (const ev of events) {
      const m = this.objects.get(ev.class.toLowerCase());
      if (!m) continue;
      if (ev.operation === 'del') m.delete(ev.ref);
      else if (ev.snapshot) m.set(ev.ref, ev.snapshot);
      refs.push(ev.ref);
    }
    if (events.length) {
      this.changed();
      this.onApplied?.(performance.now(), refs);
    }
  }

  private startLoop(): void {
    this.loop?.abort();
    const ctl = new AbortController();
    this.loop = ctl;
    void (async () => {
      while (!ctl.signal.aborted) {
        try {
          const r = await rpc(this.origin, 'event.from', [this.session, CLASSES, this.token, 30], ctl.signal);
          if (ctl.signal.aborted) return;
          this.token = r.token;
          this.apply(r.events);
        } catch (e) {
          if (ctl.signal.aborted) return;
          if (e instanceof XapiError && e.code === 'EVENTS_LOST') { await this.refill().catch(() => {}); continue; }
          void this.reconnect(describeError(e));
          return;
        }
      }
    })();
  }

  private reconnecting?: Promise<void>;

  /** Logs in again until some host answers as master; keeps the mirror until then. */
  reconnect(reason: string): Promise<void> {
    if (this.state === 'signed-out' || this.reconnecting) return this.reconnecting ?? Promise.resolve();
    this.loop?.abort();
    this.state = 'reconnecting';
    this.lostReason = reason;
    this.changed();
    this.reconnecting = (async () => {
      // The host it was talking to first, then where the page came from, then every other
      // host it knew (as XenCenter searches the members for the new coordinator): a member
      // answers HOST_IS_SLAVE naming the master, which login follows.
      const known = [...this.all('host').values()].map((h) => hostRecordOrigin(h, this.origin || location.origin)).filter((o): o is string => Boolean(o));
      const candidates = () => [...new Set([this.origin, location.origin, ...known])];
      for (let attempt = 0; this.state === 'reconnecting'; attempt++) {
        for (const origin of candidates()) {
          try {
            const l = await login(origin, this.user, this.password);
            this.origin = l.origin;
            this.session = l.session;
            await this.refill();
            this.state = 'connected';
            this.lostReason = '';
            this.changed();
            this.startLoop();
            return;
          } catch (e) {
            this.lostReason = describeError(e);
            this.changed();
          }
        }
        await new Promise((r) => setTimeout(r, Math.min(500 + attempt * 250, 2000)));
      }
    })().finally(() => { this.reconnecting = undefined; });
    return this.reconnecting;
  }
}

export const store = new PoolStore();
