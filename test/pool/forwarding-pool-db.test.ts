/**
 * The PoolDb contract run on a member's database, `ForwardingPoolDb`, forwarding every
 * write to a master's database through the master's own applier (`applyForwarded`), as a
 * member does once it has joined. Each test of the suite must hold for the member's view;
 * and when the test closes the database, the master must hold exactly what the member
 * holds (every persisted row, but for sets computed from memory-only rows, and every
 * pool-wide meta entry), or the test fails naming the
 * first difference: forwarding lost, reordered or invented nothing. A restore from a dump
 * is the one write a member never forwards (it is a whole-database replacement the master
 * makes itself), so a test that restores is held to the contract only.
 */
import assert from 'node:assert/strict';
import type { PoolDb } from '../../src/core/ports/pool-db.js';
import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';
import { openPoolDb } from '../../src/db/sqlite-pool-db.js';
import type { ClassDecl } from '../../src/datamodel/dsl.js';
import { ForwardingPoolDb } from '../../src/pool/forwarding-pool-db.js';
import { applyForwarded, isReplicatedMeta, metaEntriesOf } from '../../src/pool/replication.js';
import { runPoolDbContract } from '../db/pool-db.contract.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A member's database joined to `master`; closing it checks the two agree. */
class JoinedMember extends ForwardingPoolDb {
  #restored = false;
  constructor(inner: PoolDb, private readonly master: PoolDb, private readonly classes: readonly ClassDecl[]) {
    super(inner, (cls) => classes.find((c) => c.name === cls)?.persist !== false, isReplicatedMeta);
    this.setForwarder((batch) => applyForwarded(master, batch));
  }

  override restoreJson(json: string): void {
    this.#restored = true;
    super.restoreJson(json);
  }

  override close(): void {
    try {
      if (!this.#restored) this.#assertMasterAgrees();
    } finally {
      super.close();
      this.master.close();
    }
  }

  #assertMasterAgrees(): void {
    const local = new Set(this.classes.filter((c) => c.persist === false).map((c) => c.name));
    for (const c of this.classes) {
      if (local.has(c.name)) continue;
      // Sets computed from memory-only rows (a VM's current tasks) are each host's own.
      const hostOnly = c.fields.filter((f) => f.inverse && local.has(f.inverse.cls)).map((f) => f.name);
      const shared = (db: PoolDb) => db.all(c.name).map(([ref, row]) => [ref, Object.fromEntries(Object.entries(row).filter(([k]) => !hostOnly.includes(k)))]);
      assert.deepEqual(shared(this.master), shared(this), `the master's ${c.name} rows differ from the member's`);
    }
    const poolWide = (db: PoolDb) => Object.fromEntries(metaEntriesOf(db).filter(([k]) => isReplicatedMeta(k)));
    assert.deepEqual(poolWide(this.master), poolWide(this), 'the master\'s pool-wide meta entries differ from the member\'s');
  }
}

runPoolDbContract('ForwardingPoolDb over MemoryPoolDb, forwarding to a master', (classes, opts) =>
  new JoinedMember(new MemoryPoolDb(classes, opts), new MemoryPoolDb(classes, opts), classes));

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function sqliteDb(classes: readonly ClassDecl[], opts?: { maxTombstones?: number }): PoolDb {
  const dir = mkdtempSync(join(tmpdir(), 'islet-fwd-'));
  dirs.push(dir);
  return openPoolDb(join(dir, 'pool.db'), classes, opts);
}

runPoolDbContract('ForwardingPoolDb over SqlitePoolDb, forwarding to a SQLite master', (classes, opts) =>
  new JoinedMember(sqliteDb(classes, opts), sqliteDb(classes, opts), classes));
