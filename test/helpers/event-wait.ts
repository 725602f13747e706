/**
 * @module
 * Waiting for an event with a deadline: a test that waits for a `close` or a `data` that
 * never comes fails with a message saying what it waited for, instead of hanging until
 * the runner's own timeout (or forever).
 */
import type { EventEmitter } from 'node:events';

export const DEFAULT_EVENT_WAIT_MS = 30_000;

/** Resolves with the event's first argument; rejects after `ms` naming `what`, or on `error`. */
export function eventWithin<T = unknown>(emitter: EventEmitter, event: string, what: string, ms = DEFAULT_EVENT_WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`waited ${ms} ms for ${what} ('${event}'); it did not come`));
    }, ms);
    const onEvent = (v: T) => {
      clearTimeout(timer);
      resolve(v);
    };
    emitter.once(event, onEvent);
  });
}
