/**
 * @module
 * The in-memory index behind computed inverse sets: for each feeding ref field
 * (`VBD.VM`) and each target ref, the objects pointing at it, in the order they started
 * to. It is keyed by ref alone, so a VBD created before its VM already shows up once the
 * VM exists, and nothing is stored for it.
 */
import type { Ref } from '../core/ref.js';

export class InverseIndex {
  readonly #byKey = new Map<string, Map<string, Set<Ref>>>();

  add(key: string, target: string, ref: Ref): void {
    let byTarget = this.#byKey.get(key);
    if (!byTarget) this.#byKey.set(key, (byTarget = new Map()));
    let refs = byTarget.get(target);
    if (!refs) byTarget.set(target, (refs = new Set()));
    refs.add(ref);
  }

  remove(key: string, target: string, ref: Ref): void {
    const byTarget = this.#byKey.get(key);
    const refs = byTarget?.get(target);
    if (!refs) return;
    refs.delete(ref);
    if (refs.size === 0) byTarget!.delete(target);
  }

  /** A fresh array the caller may keep. */
  get(key: string, target: string): Ref[] {
    const refs = this.#byKey.get(key)?.get(target);
    return refs ? [...refs] : [];
  }

  clear(): void {
    this.#byKey.clear();
  }
}
