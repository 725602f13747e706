/**
 * @module
 * The pool database without a file: the same semantics as the SQLite one (validation,
 * generations, inverse sets, tombstones, transactions), for unit tests and fast fakes.
 * Everything is gone when the process ends.
 */
import type { ClassDecl } from '../datamodel/dsl.js';
import { PoolDbCore, type PoolDbOptions } from './pool-db-core.js';

export class MemoryPoolDb extends PoolDbCore {
  constructor(classes: readonly ClassDecl[], opts: PoolDbOptions = {}) {
    super(classes, opts);
  }
}

export type { PoolDbOptions };
