/**
 * @module
 * A small least-recently-used map, used to cache block bitmaps and chain maps: a 2 TiB disk
 * has a million blocks, so caching all would cost hundreds of MiB; the working set of a
 * guest is far smaller. Entries may weigh more than one unit (`weigh`), so that a cache of
 * variable-sized values is bounded by what it holds rather than by how many.
 */

export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  private weight = 0;

  constructor(private readonly capacity: number, private readonly weigh: (v: V) => number = () => 1) {}

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Like `get`, without making the entry recently used. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.delete(key);
    this.map.set(key, value);
    this.weight += this.weigh(value);
    while (this.weight > this.capacity && this.map.size > 1) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: K): void {
    const v = this.map.get(key);
    if (v === undefined) return;
    this.map.delete(key);
    this.weight -= this.weigh(v);
  }

  clear(): void {
    this.map.clear();
    this.weight = 0;
  }
}
