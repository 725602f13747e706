/**
 * @module
 * What a fuzz target is: seeds (valid inputs the mutator starts from), an optional fix-up
 * that repairs what a mutation broke but the parser checks first (checksums, lengths), so
 * inputs reach past the first gate, and a `check` that feeds one input to the code under
 * test. `check` swallows the errors the code declares for bad input and throws a
 * `Finding` for anything else; a check that never settles is a hang, which the suite's
 * watchdog sees.
 */
import type fc from 'fast-check';

export class Finding extends Error {
  override readonly name = 'Finding';
}

export interface FuzzTarget<Ctx = unknown> {
  readonly name: string;
  /** What the target exercises, for the printed figures. */
  readonly about: string;
  setup(dir: string): Promise<Ctx>;
  seeds(ctx: Ctx): Promise<Buffer[]>;
  /** Inputs generated from scratch by grammar, besides mutated seeds (optional). */
  readonly generate?: fc.Arbitrary<Buffer>;
  fixup?(input: Buffer): Buffer;
  check(input: Buffer, ctx: Ctx): Promise<void> | void;
  teardown?(ctx: Ctx): Promise<void>;
}

/** Describes an unexpected error as a finding: its class, message and top stack frames. */
export function unexpected(where: string, e: unknown): Finding {
  const err = e instanceof Error ? e : new Error(String(e));
  const frames = (err.stack ?? '').split('\n').slice(1, 5).map((l) => l.trim()).join(' | ');
  return new Finding(`${where}: ${err.constructor.name}: ${err.message.slice(0, 300)} @ ${frames}`);
}
