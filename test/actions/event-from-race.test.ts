/**
 * event.from answers with the state of the objects at the moment it read the change log:
 * an object that changes after a token and is removed while the answer is being put
 * together must come out as a `del` (or as the snapshot it had), never as an `add`/`mod`
 * without a snapshot. Xen Orchestra's client reads `snapshot.uuid` of every non-`del`
 * event; one missing snapshot throws inside its event loop, which then stops for good,
 * and every task it watches hangs (the flake of the XO checkpoint/revert test).
 *
 * The removal is made a chosen number of microtask turns after the change that wakes the
 * long poll, for every number up to well past the few turns an awaited return takes, so
 * the test does not depend on how many turns the engine spends where.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventActions } from '../../src/actions/event/index.js';
import type { ActionContext, Services } from '../../src/core/action-context.js';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import { classes } from '../../src/datamodel/index.js';
import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';

interface EventOut {
  operation: string;
  ref: string;
  snapshot?: unknown;
}
interface Answer {
  events: EventOut[];
  token: string;
}

const from = (ctx: ActionContext, token: string, timeout: number) =>
  eventActions.from(ctx, { classes: ['task'], token, timeout }) as unknown as Promise<Answer>;

function context(db: MemoryPoolDb): ActionContext {
  // event.from reads only the database, the clock and the stopping signal.
  const services = { db, now: () => new Date() } as unknown as Services;
  return { services, db, session: undefined, task: undefined, peer: '127.0.0.1' };
}

function makeTask(db: MemoryPoolDb, name: string): Ref<'task'> {
  const ref = newRef<'task'>();
  db.create('task', ref, { uuid: newUuid(), name_label: name, name_description: '', status: 'pending', progress: 0 });
  return ref;
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('event.from while objects go away', () => {
  it('never answers an add or mod without a snapshot, whenever the object is removed', async () => {
    const db = new MemoryPoolDb(classes);
    const ctx = context(db);
    for (let k = 0; k <= 12; k++) {
      const doomed = makeTask(db, `doomed ${k}`);
      const { token } = await from(ctx, '', 0);
      const answer = from(ctx, token, 5);
      await turns(3); // the long poll is parked
      db.update('task', doomed, { progress: 0.5 }); // wakes it
      await turns(k); // k = 0 is already a few turns: those of the call itself
      db.remove('task', doomed);
      const { events, token: next } = await answer;
      for (const e of events) {
        if (e.operation !== 'del') assert.ok(e.snapshot, `removal k=${k}: ${e.operation} of ${e.ref} has no snapshot`);
      }
      // Whatever the first answer said, the next one (or it) reports the removal.
      const later = (await from(ctx, next, 0)).events;
      const said = [...events, ...later].filter((e) => e.ref === doomed).map((e) => e.operation);
      assert.equal(said.at(-1), 'del', `removal k=${k}: ${said.join(',')}`);
    }
  });
});
