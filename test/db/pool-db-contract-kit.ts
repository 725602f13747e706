/**
 * @module
 * What the PoolDb contract files share: the factory type, a per-suite opener that closes
 * whatever it opened, object makers for the test model, and error matchers.
 */
import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import { ApiError } from '../../src/core/api-error.js';
import type { ChangesSince, PoolDb, Row } from '../../src/core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import type { ClassDecl } from '../../src/datamodel/dsl.js';
import { testModel } from './test-model.js';

export type MakeDb = (classes: readonly ClassDecl[], opts?: { maxTombstones?: number }) => PoolDb;

/**
 * The port as a test sees a database opened on a model of its own (`testModel`): the port
 * types rows from Islet's datamodel, whose VM is not the test model's, so here class
 * names are plain strings and rows plain `Row`s. Every PoolDb is one of these.
 */
export interface UntypedPoolDb extends Omit<PoolDb, 'get' | 'all' | 'where' | 'create' | 'update'> {
  get(cls: string, ref: Ref): Row | undefined;
  all<C extends string>(cls: C): Array<[Ref<C>, Row]>;
  where<C extends string>(cls: C, test: (field: (name: string) => unknown) => boolean): Array<[Ref<C>, Row]>;
  create(cls: string, ref: Ref, row: Row): void;
  update(cls: string, ref: Ref, patch: Row): void;
}

export interface ContractKit {
  open(classes?: readonly ClassDecl[], opts?: { maxTombstones?: number }): UntypedPoolDb;
  vm(db: UntypedPoolDb, row?: Row): Ref<'VM'>;
  vbd(db: UntypedPoolDb, vmRef: string, row?: Row): Ref<'VBD'>;
}

/** Call inside a describe(): databases opened through the kit are closed after each test. */
export function contractKit(makeDb: MakeDb): ContractKit {
  const opened: PoolDb[] = [];
  afterEach(() => {
    for (const db of opened.splice(0)) db.close();
  });
  return {
    open: (classes = testModel, opts): UntypedPoolDb => {
      const db = makeDb(classes, opts);
      opened.push(db);
      return db;
    },
    vm: (db, row = {}) => {
      const ref = newRef<'VM'>();
      db.create('VM', ref, { uuid: newUuid(), ...row });
      return ref;
    },
    vbd: (db, vmRef, row = {}) => {
      const ref = newRef<'VBD'>();
      db.create('VBD', ref, { uuid: newUuid(), VM: vmRef, ...row });
      return ref;
    },
  };
}

export const everything = (): boolean => true;

export function isApiError(code: string, params?: string[]) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ApiError, `expected ApiError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    if (params) assert.deepEqual(e.params, params);
    return true;
  };
}

/** A plain Error, not an ApiError: the mistakes only code can make. */
export function isProgrammingError(re: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof Error && !(e instanceof ApiError), `expected a plain Error, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  };
}

/** `op cls ref` per change, for compact assertions. */
export function ops(res: ChangesSince): string[] {
  return res.changes.map((c) => `${c.op} ${c.cls} ${c.ref}`);
}
