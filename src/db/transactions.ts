/**
 * @module
 * Transactions of the pool database. Memory is rolled back with an undo journal (every
 * mutation pushes its inverse), the store with its own transaction, which is opened lazily
 * by the first persisted write so that memory-only work (tasks) never waits for a disk.
 * Nested calls join the outer transaction under a savepoint: a failure the outer code
 * catches undoes only the inner writes. A write that fails part-way inside a transaction
 * dooms it, because its half-done effects cannot be told apart from the rest.
 */
import type { PoolDbStore } from './pool-db-store.js';

export interface TransactionHooks {
  /** The generation the next transaction will commit as. */
  nextGen(): number;
  /** Last writes of a transaction that changed something, before the store commits. */
  finish(): void;
  /** After a commit that changed something. */
  committed(gen: number): void;
  /** After memory was rolled back, to tidy what undo steps left unordered. */
  rolledBack(): void;
}

export class Transactions {
  /** Generation of the open transaction. */
  gen = 0;
  /** Whether the open transaction changed an object (meta entries do not count). */
  dirty = false;
  #depth = 0;
  #doomed: { error: unknown } | undefined;
  #undo: Array<() => void> = [];

  constructor(
    private readonly store: PoolDbStore | undefined,
    private readonly hooks: TransactionHooks,
  ) {}

  get open(): boolean {
    return this.#depth > 0;
  }

  /** Records how to take back a mutation just made. */
  onUndo(fn: () => void): void {
    this.#undo.push(fn);
  }

  run<T>(fn: () => T): T {
    return this.#depth === 0 ? this.#outer(fn) : this.#nested(fn);
  }

  /** A single write joins the open transaction, or is a transaction of its own. */
  write(fn: () => void): void {
    if (this.#depth === 0) {
      this.#outer(fn);
      return;
    }
    try {
      fn();
    } catch (error) {
      this.#doomed ??= { error };
      throw error;
    }
  }

  /** The store, inside a store transaction. */
  persist(): PoolDbStore {
    const store = this.store!;
    if (!store.active) store.begin();
    return store;
  }

  #outer<T>(fn: () => T): T {
    this.#depth = 1;
    this.gen = this.hooks.nextGen();
    this.dirty = false;
    this.#doomed = undefined;
    this.#undo = [];
    let result: T;
    try {
      result = fn();
      assertSync(result);
      // fn() may have set it: TypeScript cannot see that through the call.
      const doomed = this.#doomed as { error: unknown } | undefined;
      if (doomed) throw new Error('db: transaction abandoned: a write inside it failed', { cause: doomed.error });
      if (this.dirty) this.hooks.finish();
      if (this.store?.active) this.store.commit();
    } catch (e) {
      this.#rollbackTo(0);
      if (this.store?.active) {
        try { this.store.rollback(); } catch { /* the store is already unusable; keep the first error */ }
      }
      throw e;
    } finally {
      this.#depth = 0;
      this.#undo = [];
      this.#doomed = undefined;
    }
    if (this.dirty) this.hooks.committed(this.gen);
    return result;
  }

  #nested<T>(fn: () => T): T {
    const mark = this.#undo.length;
    const dirty = this.dirty;
    const doomed = this.#doomed;
    const store = this.store;
    const sp = store?.active ? store.savepoint() : undefined;
    this.#depth++;
    try {
      const r = fn();
      assertSync(r);
      if (sp) store!.release(sp);
      return r;
    } catch (e) {
      this.#rollbackTo(mark);
      this.dirty = dirty;
      this.#doomed = doomed;
      try {
        // With no savepoint the store transaction began inside this scope: all of it goes.
        if (sp) store!.rollbackTo(sp);
        else if (store?.active) store.rollback();
      } catch (error) {
        this.#doomed ??= { error };
      }
      throw e;
    } finally {
      this.#depth--;
    }
  }

  #rollbackTo(mark: number): void {
    while (this.#undo.length > mark) this.#undo.pop()!();
    this.hooks.rolledBack();
  }
}

function assertSync(result: unknown): void {
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new Error('db: transaction callbacks must be synchronous (writes after an await would escape it)');
  }
}
