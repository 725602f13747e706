/**
 * @module
 * Per-SR coordination on this host. Operations that change an SR's tree (create, snapshot,
 * clone, destroy, scan) and the record updates after garbage collection run one at a time
 * per SR, so the records written after a driver call always describe the tree that call
 * left. Garbage collection passes are coalesced: one runs at a time, and requests made
 * while it runs get one more pass after it.
 *
 * State is kept per `Services` object, i.e. per toolstack instance, so tests that run
 * several hosts in one process keep them apart.
 */
import type { Services } from '../../core/action-context.js';

interface SrState {
  tail: Promise<unknown>;
  gc?: Promise<void>;
  gcAgain: boolean;
}

const bySrvc = new WeakMap<Services, Map<string, SrState>>();

function state(services: Services, srUuid: string): SrState {
  let m = bySrvc.get(services);
  if (!m) {
    m = new Map();
    bySrvc.set(services, m);
  }
  let s = m.get(srUuid);
  if (!s) {
    s = { tail: Promise.resolve(), gcAgain: false };
    m.set(srUuid, s);
  }
  return s;
}

/** Runs `fn` when every earlier locked operation on the SR has finished. */
export function withSrLock<T>(services: Services, srUuid: string, fn: () => Promise<T>): Promise<T> {
  const s = state(services, srUuid);
  const run = s.tail.then(fn, fn);
  s.tail = run.catch(() => undefined);
  return run;
}

/**
 * Runs `pass` (one garbage-collection pass) now or after the one in progress, coalescing
 * requests: however many callers ask while a pass runs, one more pass follows it. The
 * promise resolves after a pass that started after this call has finished.
 */
export function scheduleGc(services: Services, srUuid: string, pass: () => Promise<void>): Promise<void> {
  const s = state(services, srUuid);
  if (s.gc) {
    // The running loop sees the flag and makes one more pass before it settles.
    s.gcAgain = true;
    return s.gc;
  }
  const run = (async () => {
    try {
      do {
        s.gcAgain = false;
        await pass();
      } while (s.gcAgain);
    } finally {
      s.gc = undefined;
    }
  })();
  s.gc = run;
  return run;
}

/** The garbage-collection pass in progress on the SR, if any. */
export function gcInProgress(services: Services, srUuid: string): Promise<void> | undefined {
  return bySrvc.get(services)?.get(srUuid)?.gc;
}
