/**
 * A map that keeps at most `max` keys, forgetting the least recently used first: the bound on a
 * detector's memory (one entry per identity or source, whatever the traffic).
 *
 * @example
 * ```ts
 * const m = new BoundedMap<string, number>(2);
 * m.set('a', 1); m.set('b', 2); m.get('a'); m.set('c', 3); // 'b' is forgotten
 * [...m.keys()]; // ['a', 'c']
 * ```
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error('BoundedMap: max must be an integer >= 1');
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** The value of `key`, made by `make` (and kept) when absent; the most recently used either way. */
  getOrCreate(key: K, make: () => V): V {
    const v = this.get(key);
    if (v !== undefined) return v;
    const made = make();
    this.set(key, made);
    return made;
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }
}
