/**
 * @module
 * Watches objects through `event.from` on the master while a piece of work runs (for VMs:
 * every power state seen per VM, and where they ran). The watcher stops only once it
 * has read up to the database generation current when the work ended (`event.get_current_id`),
 * not after a fixed pause: a watcher that was slow to issue its next call (a loaded machine)
 * would otherwise miss the last changes, and a VM that did change would look untouched.
 * With `client` it rides out the master's own restarts: it logs in again and reads every
 * VM afresh, so a state it missed while the master was down still shows up in a snapshot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { XapiClient } from '../../src/client/xapi-client.js';

/** How long the watcher may take to catch up once the work is done: a hang, not slowness. */
export const CATCH_UP_MS = 60_000;

export interface WatchVmsOptions {
  /** A fresh logged-in client after a failure (the master restarting); without it a failure fails the watch. */
  readonly client?: () => Promise<XapiClient>;
  /**
   * Start from the changes after the call (the states the VMs have now are not recorded):
   * what is seen is then only what the work changed. The default records a first full read.
   */
  readonly fromNow?: boolean;
}

export type SeenStates = Map<string, Set<string>> & { readonly hostsOf: Map<string, string[]> };

/** One event of an `event.from` answer. */
export interface WatchedEvent {
  readonly class: string;
  readonly ref: string;
  readonly snapshot?: Record<string, any>;
}

interface Batch {
  token: string;
  events: WatchedEvent[];
}

const generationOf = (token: string) => Number(token.split(',')[0]);

/**
 * Hands every event of `classes` to `onEvent` while `fn` runs, and after it until the watcher
 * has read up to the generation current when `fn` ended. Clients made by `o.client` are
 * closed when replaced and at the end; `c` is the caller's.
 */
export async function watchEvents(
  c: XapiClient, classes: readonly string[], onEvent: (e: WatchedEvent) => void, fn: () => Promise<void>, o: WatchVmsOptions = {},
): Promise<void> {
  let cur = c;
  const replace = (next: XapiClient) => {
    if (next !== cur && cur !== c) cur.close();
    cur = next;
  };
  // The starting point is taken before the work begins, so none of its changes can precede it.
  let token = o.fromNow ? String(((await c.call('event.from', classes, '', 0)) as Batch).token) : '';
  let upTo: number | undefined;
  let catchUpBy = 0;
  let abandoned = false;
  const watcher = (async () => {
    for (;;) {
      if (abandoned) return;
      if (upTo !== undefined && token !== '') {
        if (generationOf(token) >= upTo) return;
        if (Date.now() > catchUpBy) throw new Error(`the event watcher had read up to ${token}, not generation ${upTo}, ${CATCH_UP_MS / 1000} s after the work ended`);
      }
      try {
        const batch = (await cur.call('event.from', classes, token, 1.0)) as Batch;
        token = batch.token;
        for (const e of batch.events) onEvent(e);
      } catch (e) {
        if (!o.client) throw e;
        // The master is restarting: start over with a full read once it is back.
        token = '';
        await sleep(500);
        replace(await o.client().catch(() => cur));
      }
    }
  })();
  watcher.catch(() => undefined); // awaited below; a failure while the work runs is reported then
  try {
    try {
      await fn();
    } catch (e) {
      abandoned = true;
      await watcher.catch(() => undefined);
      throw e;
    }
    upTo = await currentGeneration(() => cur, o.client, replace);
    catchUpBy = Date.now() + CATCH_UP_MS;
    await watcher;
  } finally {
    if (cur !== c) cur.close();
  }
}

export async function watchVms(c: XapiClient, vms: readonly string[], fn: () => Promise<void>, o: WatchVmsOptions = {}): Promise<SeenStates> {
  const seen = new Map(vms.map((vm) => [vm, new Set<string>()]));
  const hosts = new Map(vms.map((vm) => [vm, [] as string[]]));
  await watchEvents(c, ['vm'], (e) => {
    if (!e.snapshot || !seen.has(e.ref)) return;
    seen.get(e.ref)!.add(String(e.snapshot.power_state));
    const h = String(e.snapshot.resident_on);
    if (hosts.get(e.ref)!.at(-1) !== h) hosts.get(e.ref)!.push(h);
  }, fn, o);
  return Object.assign(seen, { hostsOf: hosts });
}
/** The master's database generation now, asking a fresh client while the master is away. */
async function currentGeneration(
  cur: () => XapiClient, client: WatchVmsOptions['client'], use: (c: XapiClient) => void,
): Promise<number> {
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    try {
      return Number(await cur().call('event.get_current_id'));
    } catch (e) {
      if (!client || Date.now() > deadline) throw e;
      await sleep(500);
      use(await client().catch(() => cur()));
    }
  }
}
