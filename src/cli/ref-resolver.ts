/**
 * @module
 * Turns object references into what xe shows for them: the object's uuid (or name), or
 * `<not in database>` for a null or dangling reference. xapi's CLI reads a local index;
 * a remote client instead fetches `get_all_records` once per referenced class, so a listing
 * costs one call per class rather than one per reference. A class the server does not
 * serve resolves to nothing, like a dangling reference.
 */

export type Rec = Record<string, unknown>;
export type CallFn = (method: string, ...params: unknown[]) => Promise<unknown>;

export const NOT_IN_DATABASE = '<not in database>';
export const NULL_REF = 'OpaqueRef:NULL';

export class RefResolver {
  readonly #call: CallFn;
  readonly #pending = new Map<string, Promise<void>>();
  readonly #loaded = new Map<string, Map<string, Rec>>();

  constructor(call: CallFn) {
    this.#call = call;
  }

  /** Records already fetched (the class being listed), so references to them cost nothing. */
  seed(cls: string, rows: Iterable<readonly [string, Rec]>): void {
    const m = this.#loaded.get(cls) ?? new Map<string, Rec>();
    for (const [ref, rec] of rows) m.set(ref, rec);
    this.#loaded.set(cls, m);
    if (!this.#pending.has(cls)) this.#pending.set(cls, Promise.resolve());
  }

  /** Fetches every record of `cls`, once. */
  load(cls: string): Promise<void> {
    let p = this.#pending.get(cls);
    if (!p) {
      p = this.#call(`${cls}.get_all_records`).then(
        (all) => {
          const m = this.#loaded.get(cls) ?? new Map<string, Rec>();
          for (const [ref, rec] of Object.entries((all ?? {}) as Record<string, Rec>)) m.set(ref, rec);
          this.#loaded.set(cls, m);
        },
        () => {
          if (!this.#loaded.has(cls)) this.#loaded.set(cls, new Map());
        },
      );
      this.#pending.set(cls, p);
    }
    return p;
  }

  async loadAll(classes: Iterable<string>): Promise<void> {
    await Promise.all([...new Set(classes)].map((c) => this.load(c)));
  }

  record(cls: string, ref: unknown): Rec | undefined {
    if (typeof ref !== 'string' || ref === NULL_REF) return undefined;
    return this.#loaded.get(cls)?.get(ref);
  }

  uuid(cls: string, ref: unknown): string {
    const u = this.record(cls, ref)?.uuid;
    return typeof u === 'string' ? u : NOT_IN_DATABASE;
  }

  name(cls: string, ref: unknown): string {
    const n = this.record(cls, ref)?.name_label;
    return typeof n === 'string' ? n : NOT_IN_DATABASE;
  }
}
