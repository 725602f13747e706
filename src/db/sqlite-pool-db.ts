/**
 * @module
 * The pool database the toolstack runs on: the in-memory database with every write of a
 * persisted class committed to an SQLite file before the call returns. Reads never touch
 * the file; it is read once, when the database opens.
 */
import type { ClassDecl } from '../datamodel/dsl.js';
import { PoolDbCore, type PoolDbOptions } from './pool-db-core.js';
import { SqliteStore } from './sqlite-store.js';

export class SqlitePoolDb extends PoolDbCore {
  readonly path: string;

  constructor(path: string, classes: readonly ClassDecl[], opts: PoolDbOptions = {}) {
    super(classes, opts, (schema) => new SqliteStore(path, schema));
    this.path = path;
  }
}

/** Opens (creating if needed) the database file at `path` for the given datamodel. */
export function openPoolDb(path: string, classes: readonly ClassDecl[], opts: PoolDbOptions = {}): SqlitePoolDb {
  return new SqlitePoolDb(path, classes, opts);
}

export type { PoolDbOptions };
