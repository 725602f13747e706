/**
 * @module
 * The part of a wanted state that differs from a row, so that a reconciler writes (and
 * event readers see) only real changes. Typed by the row's class: a wanted field the
 * class does not declare, or of the wrong type, fails to compile.
 */

/** The fields of `want` whose values are not `===` to the row's. */
export function changedFields<R extends object, P extends Partial<R>>(row: R, want: P): Partial<P> {
  const out: Partial<P> = {};
  for (const key of Object.keys(want) as Array<keyof P & keyof R>) {
    const now: unknown = row[key];
    if (now !== want[key]) out[key] = want[key];
  }
  return out;
}
