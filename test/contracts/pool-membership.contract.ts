/**
 * @module
 * The contract of the PoolMembership port, a host's place in its pool: a join with bad
 * credentials is refused and changes nothing; a join makes the joiner a member that names
 * its master, and the master lists it; a long poll for database changes is woken by a write
 * and answers at once when its toolstack stops (so that a stopping master holds no
 * member's connection); designate_new_master hands the role over; eject makes the master
 * forget the host, which forgets the pool and asks for a toolstack restart (to start over
 * as a pool of its own).
 * The tests run in order on one fixture: two hosts, each a pool of its own, the first to
 * become the master. A test file calls `runPoolMembershipContract(name, make)`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LifecycleAction, PoolMembership } from '../../src/core/ports/pool-membership.js';
import type { PoolDb } from '../../src/core/ports/pool-db.js';
import type { Ref } from '../../src/core/ref.js';
import { apiRefusal } from './api-refusal.js';

export interface MembershipHost {
  readonly ref: Ref<'host'>;
  readonly membership: PoolMembership;
  /** The host's view of the pool database. */
  readonly db: PoolDb;
  /** Where other hosts reach it (`host:port`). */
  readonly address: string;
  /** The process-level acts the host has asked for so far. */
  readonly lifecycleRequests: readonly LifecycleAction[];
}

export interface PoolMembershipFixture {
  /** Two hosts, each a pool of its own; the first becomes the master. */
  readonly hosts: readonly [MembershipHost, MembershipHost];
  readonly user: string;
  readonly password: string;
  stop(): Promise<void>;
}

export type MakePoolMembership = () => Promise<PoolMembershipFixture>;

const WAIT_MS = 20_000;

async function waitUntil(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `p`, or a failure naming `what` after WAIT_MS; a late rejection of `p` is not left unhandled. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  p.catch(() => undefined);
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS} ms`)), WAIT_MS);
  })]).finally(() => clearTimeout(t));
}

function hostUuids(db: PoolDb): string[] {
  return db.all('host').map(([, h]) => String(h.uuid)).sort();
}

function isMaster(m: PoolMembership): boolean {
  try {
    m.assertMaster();
    return true;
  } catch {
    return false;
  }
}

export function runPoolMembershipContract(name: string, make: MakePoolMembership): void {
  describe(`PoolMembership contract: ${name}`, { timeout: 300_000 }, () => {
    let fx: PoolMembershipFixture;
    let a: MembershipHost;
    let b: MembershipHost;
    let aUuid: string;
    let bUuid: string;

    before(async () => {
      fx = await make();
      [a, b] = fx.hosts;
      aUuid = String(a.db.get('host', a.ref)!.uuid);
      bUuid = String(b.db.get('host', b.ref)!.uuid);
    });
    after(async () => {
      await fx?.stop();
    });

    it('a join with a wrong password is refused and changes nothing', async () => {
      const e = await apiRefusal(b.membership.join(a.address, fx.user, `${fx.password}-wrong`));
      assert.equal(e.code, 'SESSION_AUTHENTICATION_FAILED');
      assert.ok(isMaster(a.membership) && isMaster(b.membership), 'both hosts are still masters of their own pools');
      assert.deepEqual(hostUuids(a.db), [aUuid]);
      assert.deepEqual(hostUuids(b.db), [bUuid]);
    });

    it('a joined host is a member naming its master, and both list both hosts', async () => {
      await b.membership.join(a.address, fx.user, fx.password);
      assert.doesNotThrow(() => a.membership.assertMaster());
      const e = await apiRefusal(Promise.resolve().then(() => b.membership.assertMaster()));
      assert.equal(e.code, 'HOST_IS_SLAVE');
      assert.equal(e.params[0], a.address);
      await waitUntil('the master listing the joined host', () => hostUuids(a.db).includes(bUuid));
      await waitUntil('the member holding the pool\'s database', () => hostUuids(b.db).includes(aUuid) && hostUuids(b.db).includes(bUuid));
    });

    it('a long poll for database changes is woken by a write, and answers at once when its toolstack stops', async () => {
      const since = a.db.generation;
      const woken = a.membership.dbChanges(since, 60_000);
      a.db.update('host', a.ref, { name_description: `written at ${Date.now()}` });
      const update = JSON.parse(await within(woken, 'a change after the write')) as { changes?: unknown[]; kind: string };
      assert.ok(update.kind === 'dump' || (update.changes?.length ?? 0) > 0, `the write reached the poll: ${JSON.stringify(update).slice(0, 300)}`);

      const stopping = new AbortController();
      let answered = false;
      const waiting = a.membership.dbChanges(a.db.generation, 60_000, undefined, stopping.signal).then((x) => { answered = true; return x; });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(answered, false, 'the poll answered with no change and no stop');
      stopping.abort();
      const last = JSON.parse(await within(waiting, 'the poll\'s answer once its toolstack stops')) as { kind: string; changes?: unknown[] };
      assert.equal(last.kind, 'changes');
      assert.deepEqual(last.changes, []);
    });

    it('designate_new_master hands the role over: the new master asserts, the old one names it', async () => {
      const bOnMaster = a.db.all('host').find(([, h]) => String(h.uuid) === bUuid)![0];
      await a.membership.designateNewMaster(bOnMaster);
      await waitUntil('the designated host being master', () => isMaster(b.membership));
      await waitUntil('the old master being a member', () => !isMaster(a.membership));
      const e = await apiRefusal(Promise.resolve().then(() => a.membership.assertMaster()));
      assert.equal(e.code, 'HOST_IS_SLAVE');
      assert.equal(e.params[0], b.address);
    });

    it('eject: the master forgets the host, which forgets the pool and asks for a toolstack restart', async () => {
      await waitUntil('the new master listing the old one', () => hostUuids(b.db).includes(aUuid));
      const aOnMaster = b.db.all('host').find(([, h]) => String(h.uuid) === aUuid)![0];
      const self = await apiRefusal(b.membership.eject(b.db.all('host').find(([, h]) => String(h.uuid) === bUuid)![0]));
      assert.equal(self.code, 'OPERATION_NOT_ALLOWED', 'the master cannot eject itself');
      await b.membership.eject(aOnMaster);
      assert.deepEqual(hostUuids(b.db), [bUuid]);
      // It forgets the pool at once; the toolstack it asks to restart serves a pool of its own.
      await waitUntil('the ejected host forgetting the pool', () => !hostUuids(a.db).includes(bUuid));
      await waitUntil('the ejected host asking for a toolstack restart', () => a.lifecycleRequests.includes('restart-agent'));
    });
  });
}
