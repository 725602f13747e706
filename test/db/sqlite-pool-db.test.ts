import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import { openPoolDb } from '../../src/db/sqlite-pool-db.js';
import { runPoolDbContract } from './pool-db.contract.js';
import type { UntypedPoolDb } from './pool-db-contract-kit.js';
import type { ClassDecl } from '../../src/datamodel/dsl.js';
import { grownModel, testModel } from './test-model.js';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'islet-db-'));
  dirs.push(dir);
  return join(dir, 'pool.db');
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A database on a test model, read as one (see `UntypedPoolDb`). */
function openTestDb(path: string, classes: readonly ClassDecl[], opts?: { maxTombstones?: number }): UntypedPoolDb {
  return openPoolDb(path, classes, opts);
}

runPoolDbContract('SqlitePoolDb', (classes, opts) => openPoolDb(tempDb(), classes, opts));

function hasSqlite3(): boolean {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function sqlite3Json(path: string, sql: string): Array<Record<string, unknown>> {
  const out = execFileSync('sqlite3', ['-readonly', '-json', path, sql], { encoding: 'utf8' });
  return out.trim() === '' ? [] : (JSON.parse(out) as Array<Record<string, unknown>>);
}

const everything = (): boolean => true;

describe('SqlitePoolDb on disk', () => {
  it('reopens with objects, relations, meta, tombstones and generation', () => {
    const path = tempDb();
    const db = openTestDb(path, testModel);
    const a = newRef<'VM'>();
    const b = newRef<'VM'>();
    const d = newRef<'VBD'>();
    db.create('VM', a, { uuid: newUuid(), name_label: 'a', memory: 2 ** 40, weight: 1.25, is_template: true,
      tags: ['x', 'y'], other_config: { k: 'v' }, power_state: 'Running' });
    db.create('VM', b, { uuid: newUuid(), snapshot_of: a });
    db.create('VBD', d, { uuid: newUuid(), VM: a, mode: 'RO' });
    const beforeRemove = db.generation;
    db.remove('VM', b);
    db.setMeta('k', 'v');
    const records = { a: db.get('VM', a), d: db.get('VBD', d) };
    const gen = db.generation;
    db.close();

    const again = openTestDb(path, testModel);
    try {
      assert.deepEqual(again.get('VM', a), records.a);
      assert.deepEqual(again.get('VBD', d), records.d);
      assert.deepEqual(again.get('VM', a)!['VBDs'], [d]);
      assert.equal(again.get('VM', b), undefined);
      assert.equal(again.getMeta('k'), 'v');
      assert.equal(again.generation, gen, 'a clean close keeps the exact generation');
      assert.equal(again.refByUuid('VM', records.a!['uuid'] as string), a);
      const res = again.changesSince(beforeRemove, everything);
      // b was a snapshot of a, so a's snapshots changed too.
      assert.deepEqual(res.changes.map((c) => `${c.op} ${c.ref}`), [`mod ${a}`, `del ${b}`]);
      again.update('VM', a, { name_label: 'after reopen' });
      assert.equal(again.generation, gen + 1);
    } finally {
      again.close();
    }
  });

  it('keeps nothing of a rolled-back transaction', () => {
    const path = tempDb();
    const db = openTestDb(path, testModel);
    const a = newRef<'VM'>();
    db.create('VM', a, { uuid: newUuid(), name_label: 'kept' });
    assert.throws(() => db.transaction(() => {
      db.update('VM', a, { name_label: 'lost' });
      db.create('VM', newRef(), { uuid: newUuid() });
      db.setMeta('lost', 'yes');
      throw new Error('rollback');
    }));
    // Outer transaction survives a caught inner failure, on disk too.
    db.transaction(() => {
      db.update('VM', a, { memory: 1 });
      assert.throws(() => db.transaction(() => {
        db.update('VM', a, { memory: 2 });
        throw new Error('inner');
      }));
    });
    db.close();
    const again = openTestDb(path, testModel);
    try {
      assert.equal(again.all('VM').length, 1);
      assert.equal(again.get('VM', a)!['name_label'], 'kept');
      assert.equal(again.get('VM', a)!['memory'], 1);
      assert.equal(again.getMeta('lost'), undefined);
    } finally {
      again.close();
    }
  });

  it('forgets memory-only objects and never hands out a generation twice after a crash', () => {
    const path = tempDb();
    const crashed = openTestDb(path, testModel);
    const a = newRef<'VM'>();
    crashed.create('VM', a, { uuid: newUuid() });
    for (let i = 0; i < 5; i++) crashed.create('task', newRef(), { uuid: newUuid(), VM: a });
    assert.equal((crashed.get('VM', a)!['current_tasks'] as Ref[]).length, 5);
    // Not closed: the next open sees the file as a crash left it.
    const next = openTestDb(path, testModel);
    try {
      assert.ok(next.generation >= crashed.generation, `${next.generation} < ${crashed.generation}`);
      assert.deepEqual(next.all('task'), []);
      assert.deepEqual(next.get('VM', a)!['current_tasks'], []);
      assert.throws(() => next.changesSince(next.generation + 1, everything), /EVENTS_LOST/);
    } finally {
      next.close();
      crashed.close();
    }
  });

  it('remembers forgotten tombstones across a reopen', () => {
    const path = tempDb();
    const db = openTestDb(path, testModel, { maxTombstones: 2 });
    const refs = Array.from({ length: 4 }, () => {
      const r = newRef<'VM'>();
      db.create('VM', r, { uuid: newUuid() });
      return r;
    });
    const start = db.generation;
    for (const r of refs) db.remove('VM', r);
    db.close();
    const again = openTestDb(path, testModel, { maxTombstones: 2 });
    try {
      assert.throws(() => again.changesSince(start, everything), /EVENTS_LOST/);
      assert.deepEqual(again.changesSince(start + 2, everything).changes.map((c) => c.ref), refs.slice(2));
    } finally {
      again.close();
    }
  });

  it('adds the fields and classes a newer datamodel declares, with their defaults', () => {
    const path = tempDb();
    const db = openTestDb(path, testModel);
    const a = newRef<'VM'>();
    db.create('VM', a, { uuid: newUuid(), name_label: 'old', tags: ['t'] });
    db.close();

    const grown = openTestDb(path, grownModel);
    const sr = newRef<'SR'>();
    try {
      const r = grown.get('VM', a)!;
      assert.equal(r['name_label'], 'old');
      assert.deepEqual(r['tags'], ['t']);
      assert.equal(r['notes'], 'none yet');
      assert.equal(r['vcpus'], 2);
      assert.equal(r['ha'], true);
      assert.deepEqual(r['blocked'], ['migrate']);
      assert.deepEqual(r['platform'], { acpi: '1' });
      grown.update('VM', a, { notes: 'new', vcpus: 8 });
      grown.create('SR', sr, { uuid: newUuid(), name_label: 'sr' });
    } finally {
      grown.close();
    }
    const again = openTestDb(path, grownModel);
    try {
      assert.equal(again.get('VM', a)!['notes'], 'new');
      assert.equal(again.get('VM', a)!['vcpus'], 8);
      assert.equal(again.get('VM', a)!['ha'], true);
      assert.equal(again.get('SR', sr)!['name_label'], 'sr');
    } finally {
      again.close();
    }
    // An older toolstack opening the newer file still reads what it knows.
    const older = openTestDb(path, testModel);
    try {
      assert.equal(older.get('VM', a)!['name_label'], 'old');
      assert.equal('notes' in older.get('VM', a)!, false);
    } finally {
      older.close();
    }
  });

  // The sqlite3 shell is the oracle; CI installs it, so only a developer machine may skip.
  it('writes a plain SQLite file that sqlite3 reads', { skip: !process.env['CI'] && !hasSqlite3() && 'sqlite3 not installed' }, () => {
    const path = tempDb();
    const db = openTestDb(path, testModel);
    const a = newRef<'VM'>();
    const uuid = newUuid();
    db.create('VM', a, { uuid, name_label: 'a', is_template: true, tags: ['x'], other_config: { k: 'v' }, memory: 5 });
    db.create('task', newRef(), { uuid: newUuid() });
    db.setMeta('m', '1');
    db.close();
    assert.deepEqual(sqlite3Json(path, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    assert.deepEqual(sqlite3Json(path, 'PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
    const rows = sqlite3Json(path, 'SELECT ref, uuid, name_label, is_template, tags, other_config, memory FROM VM');
    assert.deepEqual(rows, [{ ref: a, uuid, name_label: 'a', is_template: 1, tags: '["x"]', other_config: '{"k":"v"}', memory: 5 }]);
    const cols = sqlite3Json(path, "SELECT name FROM pragma_table_info('VM')").map((c) => c['name']);
    assert.ok(!cols.includes('VBDs') && !cols.includes('snapshots'), 'inverse fields are not stored');
    assert.deepEqual(sqlite3Json(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'task'"), []);
    assert.deepEqual(sqlite3Json(path, 'SELECT key, value FROM _meta'), [{ key: 'm', value: '1' }]);
  });
});

describe('SqlitePoolDb crash safety', () => {
  const isTs = import.meta.url.endsWith('.ts');
  const root = new URL(isTs ? '../../' : '../../../', import.meta.url);
  const fixture = fileURLToPath(new URL('test/db/fixtures/crash-writer.mjs', root));
  const ext = isTs ? 'ts' : 'js';
  const dbModule = new URL(`../../src/db/sqlite-pool-db.${ext}`, import.meta.url).href;
  const modelModule = new URL(`./test-model.${ext}`, import.meta.url).href;

  /** Runs the writer until it has acknowledged `ackBeforeKill` writes, SIGKILLs it, returns every ack it printed. */
  function writeAndKill(path: string, ackBeforeKill: number): Promise<Array<{ vm: Ref; vbd: Ref }>> {
    const args = [...(isTs ? ['--import', 'tsx'] : []), fixture, dbModule, modelModule, path];
    const child = spawn(process.execPath, args, { cwd: fileURLToPath(root), stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      const acks: Array<{ vm: Ref; vbd: Ref }> = [];
      let buf = '';
      let stderr = '';
      let killed = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`writer made no progress; stderr: ${stderr}`));
      }, 30_000);
      child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const [word, vm, vbd] = buf.slice(0, nl).split(' ');
          buf = buf.slice(nl + 1);
          if (word !== 'acked') continue;
          acks.push({ vm: vm as Ref, vbd: vbd as Ref });
          if (!killed && acks.length >= ackBeforeKill) {
            killed = true;
            child.kill('SIGKILL');
          }
        }
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL' && killed) resolve(acks);
        else reject(new Error(`writer ended with ${code ?? signal} before being killed; stderr: ${stderr}`));
      });
    });
  }

  it('keeps every acknowledged write through kill -9, and no half transaction', async () => {
    const path = tempDb();
    const acked: Array<{ vm: Ref; vbd: Ref }> = [];
    for (const n of [1, 1, 3, 7, 2, 25]) {
      acked.push(...await writeAndKill(path, n));
      const db = openTestDb(path, testModel);
      try {
        for (const { vm, vbd } of acked) {
          assert.ok(db.get('VM', vm), `acknowledged VM ${vm} lost`);
          assert.deepEqual(db.get('VM', vm)!['VBDs'], [vbd]);
        }
        assert.equal(db.all('VM').length, db.all('VBD').length, 'a transaction was cut in half');
        assert.ok(db.all('VM').length >= acked.length);
        const last = db.getMeta('last_vm') as Ref;
        assert.ok(db.get('VM', last), 'meta written in the same transaction as its VM');
      } finally {
        db.close();
      }
    }
    if (process.env['CI'] || hasSqlite3()) assert.deepEqual(sqlite3Json(path, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  });
});
