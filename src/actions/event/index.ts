/**
 * @module
 * event: the change feed clients use to mirror the pool. `event.from` answers with every
 * object of the subscribed classes that changed after the token (coalesced to its latest
 * state), or waits up to `timeout` seconds for one to change. An empty token returns
 * every live object as an `add`, which is how XenCenter and Xen Orchestra fill their
 * caches. The legacy `register`/`next` pair is served from the same generations.
 */
import { ApiError } from '../../core/api-error.js';
import type { ChangesSince, ObjectChange } from '../../core/ports/pool-db.js';
import type { Ref } from '../../core/ref.js';
import { Typed } from '../../core/typed.js';
import { classByLowerName, classes } from '../../datamodel/index.js';
import { t } from '../../datamodel/dsl.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';

interface Subscription {
  all: boolean;
  classes: Set<string>;
  objects: Set<string>;
}

function parseSubscriptions(list: unknown): Subscription {
  const sub: Subscription = { all: false, classes: new Set(), objects: new Set() };
  for (const raw of (list as string[]) ?? []) {
    const s = String(raw);
    if (s === '*') { sub.all = true; continue; }
    const slash = s.indexOf('/');
    const name = slash < 0 ? s : s.slice(0, slash);
    if (!classByLowerName(name)) throw new ApiError('EVENT_SUBSCRIPTION_PARSE_FAILURE', [s]);
    if (slash < 0) sub.classes.add(name.toLowerCase());
    else sub.objects.add(`${name.toLowerCase()}/${s.slice(slash + 1)}`);
  }
  return sub;
}

function wants(sub: Subscription) {
  return (cls: string, ref: Ref) => {
    const lc = cls.toLowerCase();
    return sub.all || sub.classes.has(lc) || sub.objects.has(`${lc}/${ref}`);
  };
}

const pad = (n: number) => String(n).padStart(20, '0');
export function formatToken(gen: number): string {
  return `${pad(gen)},${pad(0)}`;
}
function parseToken(token: string): number {
  const m = /^\s*(\d+)(?:,\d*)?\s*$/.exec(token);
  if (!m) throw new ApiError('EVENT_FROM_TOKEN_PARSE_FAILURE', [token]);
  return Number(m[1]);
}

/** One event; its snapshot is the record as read (the encoder sends only public fields). */
function eventRecord(ctx: ActionContext, ch: ObjectChange, withUuid: boolean): Record<string, unknown> {
  const c = classByLowerName(ch.cls)!;
  const ev: Record<string, unknown> = {
    id: ch.gen,
    timestamp: (ctx.services.now().getTime() / 1000).toFixed(6),
    class: c.name.toLowerCase(),
    operation: ch.op,
    ref: ch.ref,
  };
  const rec = ch.op === 'del' ? undefined : ctx.db.get(c.name, ch.ref);
  if (withUuid) ev.obj_uuid = rec ? String(rec.uuid) : '';
  if (rec) ev.snapshot = new Typed(rec, t.record(c.name));
  return ev;
}

function validRefCounts(ctx: ActionContext, sub: Subscription): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of classes) {
    const lc = c.name.toLowerCase();
    if (sub.all || sub.classes.has(lc)) out[lc] = ctx.db.count(c.name);
  }
  return out;
}

/** Whether any object of class `lc` can be wanted by the subscription. */
function wantsClass(sub: Subscription, lc: string): boolean {
  if (sub.all || sub.classes.has(lc)) return true;
  for (const o of sub.objects) if (o.startsWith(`${lc}/`)) return true;
  return false;
}

/** Long polls still waiting, per toolstack (its `stopping` signal). */
const waiting = new WeakMap<AbortSignal, Set<Promise<unknown>>>();

/**
 * Waits for changes after `since`, then builds the answer with `answer` in the same
 * synchronous step that read them: after an await, an object the log calls live may be
 * gone, and an `add`/`mod` without a snapshot stops Xen Orchestra's event loop for good.
 * When the toolstack stops, a waiting poll is answered with SESSION_INVALID (its session
 * dies with this toolstack): a client such as Xen Orchestra then logs in again at once,
 * instead of meeting a cut connection and retrying only after its long back-off.
 */
async function changesAfter<T>(
  ctx: ActionContext, since: number, want: (c: string, r: Ref) => boolean, timeoutMs: number,
  answer: (res: ChangesSince) => T,
): Promise<T> {
  const stopping = ctx.services.stopping;
  const signals = [ctx.task?.signal, stopping].filter((x): x is AbortSignal => x !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopping?.aborted) throw new ApiError('SESSION_INVALID', [String(ctx.session?.ref ?? '')]);
    const res = ctx.db.changesSince(since, want);
    const left = deadline - Date.now();
    if (res.changes.length > 0 || left <= 0) return answer(res);
    const wait = ctx.db.waitForChange(res.gen, left, signal);
    const set = stopping ? (waiting.get(stopping) ?? new Set()) : undefined;
    if (stopping && set) waiting.set(stopping, set.add(wait));
    try {
      await wait;
    } catch (e) {
      if (stopping?.aborted) throw new ApiError('SESSION_INVALID', [String(ctx.session?.ref ?? '')]);
      throw e;
    } finally {
      set?.delete(wait);
    }
    since = Math.min(since, res.gen);
  }
}

/** Resolves once every long poll of the toolstack whose `stopping` signal this is has ended. */
export async function longPollsEnded(stopping: AbortSignal): Promise<void> {
  const set = waiting.get(stopping);
  if (set) await Promise.allSettled([...set]);
}

/** Legacy registrations, per session. */
const registrations = new Map<string, { sub: Subscription; gen: number }>();

export const eventActions = {
  from: async (ctx, a) => {
    const sub = parseSubscriptions(a.classes);
    const want = wants(sub);
    const token = String(a.token ?? '');
    if (token === '') {
      const gen = ctx.db.generation;
      const events: Record<string, unknown>[] = [];
      const timestamp = (ctx.services.now().getTime() / 1000).toFixed(6);
      for (const c of classes) {
        if (!c.persist && c.name === 'event') continue;
        const lc = c.name.toLowerCase();
        // Only the classes asked for are read: reading copies every row.
        if (!wantsClass(sub, lc)) continue;
        const ty = t.record(c.name);
        for (const [ref, row] of ctx.db.all(c.name)) {
          if (!want(c.name, ref)) continue;
          events.push({ id: gen, timestamp, class: lc, operation: 'add', ref, snapshot: new Typed(row, ty) });
        }
      }
      return { events, valid_ref_counts: validRefCounts(ctx, sub), token: formatToken(gen) };
    }
    const timeoutMs = Math.max(0, Math.min(Number(a.timeout ?? 0), 3600)) * 1000;
    return changesAfter(ctx, parseToken(token), want, timeoutMs, (res) => ({
      events: res.changes.map((ch) => eventRecord(ctx, ch, false)),
      valid_ref_counts: validRefCounts(ctx, sub),
      token: formatToken(res.gen),
    }));
  },

  inject: (ctx, a) => {
    const c = classByLowerName(String(a.class));
    if (!c || !ctx.db.get(c.name, a.ref)) throw new ApiError('HANDLE_INVALID', [String(a.class), String(a.ref)]);
    // xapi answers with a token from just before the injected change, so that an event.from
    // given it returns at once with that object; clients (Xen Orchestra) rely on it to start.
    const before = ctx.db.generation;
    ctx.db.update(c.name, a.ref, {});
    return formatToken(Math.min(before, ctx.db.generation - 1));
  },

  get_current_id: (ctx) => ctx.db.generation,

  register: (ctx, a) => {
    const key = ctx.session!.ref;
    const add = parseSubscriptions(a.classes);
    const cur = registrations.get(key) ?? { sub: { all: false, classes: new Set(), objects: new Set() }, gen: ctx.db.generation };
    cur.sub.all ||= add.all;
    for (const c of add.classes) cur.sub.classes.add(c);
    for (const o of add.objects) cur.sub.objects.add(o);
    registrations.set(key, cur);
    return '';
  },

  unregister: (ctx, a) => {
    const cur = registrations.get(ctx.session!.ref);
    if (!cur) return '';
    const rm = parseSubscriptions(a.classes);
    if (rm.all) cur.sub.all = false;
    for (const c of rm.classes) cur.sub.classes.delete(c);
    for (const o of rm.objects) cur.sub.objects.delete(o);
    return '';
  },

  next: async (ctx) => {
    const cur = registrations.get(ctx.session!.ref);
    if (!cur) throw new ApiError('SESSION_NOT_REGISTERED', [ctx.session!.ref]);
    return changesAfter(ctx, cur.gen, wants(cur.sub), 30_000, (res) => {
      cur.gen = res.gen;
      // The declared record type cannot describe per-class snapshots; let the encoder walk them.
      return new Typed(res.changes.map((ch) => eventRecord(ctx, ch, true)), t.any);
    });
  },
} satisfies ActionsOf<'event'>;

/** Forgets the legacy registration of a session that ended. */
export function forgetRegistration(sessionRef: string): void {
  registrations.delete(sessionRef);
}
