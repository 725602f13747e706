/**
 * @module
 * The contract of the updates port the update actions run on (`UpdatesPort`): internal
 * sessions that are real sessions of this host until closed, XenAPI calls made on this
 * host as the pool (decoded results, XenAPI errors with their codes), tasks no client
 * started that carry progress, a result or a failure as any task does, a bounded hook
 * time and the table of rolling update runs in flight. A test file calls
 * `runUpdatesPortContract(name, make)` with a host's port and its pool database.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiRefusal } from './api-refusal.js';
import type { PoolDb } from '../../src/core/ports/pool-db.js';
import type { UpdatesPort } from '../../src/core/ports/updates.js';
import type { Ref } from '../../src/core/ref.js';

export interface UpdatesPortFixture {
  readonly port: UpdatesPort;
  /** The pool database of the host the port belongs to. */
  readonly db: PoolDb;
  readonly hostRef: Ref<'host'>;
  stop(): Promise<void>;
}

type Rec = Record<string, unknown>;

export function runUpdatesPortContract(name: string, make: () => Promise<UpdatesPortFixture>): void {
  describe(`UpdatesPort contract: ${name}`, { timeout: 180_000 }, () => {
    let fx: UpdatesPortFixture;
    before(async () => {
      fx = await make();
    });
    after(async () => {
      await fx?.stop();
    });

    it('an internal session is a session of this host until it is closed, one per request', () => {
      const a = fx.port.internalSession();
      const b = fx.port.internalSession();
      assert.notEqual(a.ref, b.ref);
      assert.ok(fx.db.get('session', a.ref as Ref<'session'>), `no session record for ${a.ref}`);
      a.close();
      assert.equal(fx.db.get('session', a.ref as Ref<'session'>), undefined, 'the closed session is gone');
      assert.ok(fx.db.get('session', b.ref as Ref<'session'>), 'closing one leaves the other');
      b.close();
    });

    it('a call runs on this host and answers decoded, as the pool', async () => {
      const label = await fx.port.call('host.get_name_label', [fx.hostRef]);
      assert.equal(label, fx.db.get('host', fx.hostRef)!.name_label);
      const key = `updates-contract-${randomUUID()}`;
      await fx.port.call('host.add_to_other_config', [fx.hostRef, key, 'yes']);
      assert.equal((fx.db.get('host', fx.hostRef)!.other_config as Record<string, string>)[key], 'yes');
      await fx.port.call('host.remove_from_other_config', [fx.hostRef, key]);
    });

    it('a failing call is the XenAPI error, code and params', async () => {
      const bogus = `OpaqueRef:${randomUUID()}`;
      const e = await apiRefusal(fx.port.call('host.get_name_label', [bogus]));
      assert.equal(e.code, 'HANDLE_INVALID');
      assert.deepEqual(e.params, ['host', bogus]);
      assert.equal((await apiRefusal(fx.port.call('host.no_such_message', []))).code, 'MESSAGE_METHOD_UNKNOWN');
    });

    it('a task no client started carries progress and then its result', () => {
      const t = fx.port.createTask('updates contract: success');
      const rec = () => fx.db.get('task', t.ref as Ref<'task'>) as Rec | undefined;
      assert.equal(rec()?.name_label, 'updates contract: success');
      assert.equal(rec()?.status, 'pending');
      t.setProgress(0.5);
      assert.equal(rec()?.progress, 0.5);
      t.succeed('<value>done</value>');
      assert.equal(rec()?.status, 'success');
      assert.equal(rec()?.result, '<value>done</value>');
    });

    it('a task no client started fails with a XenAPI error', () => {
      const t = fx.port.createTask('updates contract: failure');
      t.fail('HOST_OFFLINE', [fx.hostRef]);
      const rec = fx.db.get('task', t.ref as Ref<'task'>) as Rec;
      assert.equal(rec.status, 'failure');
      assert.deepEqual(rec.error_info, ['HOST_OFFLINE', fx.hostRef]);
    });

    it('hooks have a time limit, and no rolling update is in flight on a fresh host', () => {
      assert.ok(Number.isFinite(fx.port.hookTimeoutMs) && fx.port.hookTimeoutMs > 0, `hookTimeoutMs ${fx.port.hookTimeoutMs}`);
      assert.ok(fx.port.activeRuns instanceof Map);
      assert.equal(fx.port.activeRuns.size, 0);
      fx.port.log('updates contract: a line for the log');
    });
  });
}
