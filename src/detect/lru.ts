/**
 * A map that keeps at most `max` keys, forgetting the least recently used first: the bound on a
 * detector's memory (one entry per identity or source, whatever the traffic).
 *
 * A `get` moves its key to the young end only when the key has not been used in the last
 * `max / 2` operations: the hot keys of a busy server are not moved on every event (a move is a
 * delete and an insert, several times a plain lookup), and the key forgotten when the map is full
 * is still one not used for at least that long. So "least recently used" is exact up to `max / 2`
 * operations, which is all a memory bound needs.
 *
 * @example
 * ```ts
 * const m = new BoundedMap<string, number>(2);
 * m.set('a', 1); m.set('b', 2); m.get('a'); m.set('c', 3); // 'b' is forgotten
 * [...m.keys()]; // ['a', 'c']
 * ```
 */
interface Slot<V> {
  value: V;
  /** The operation count when the key was last moved to the young end. */
  moved: number;
}

export class BoundedMap<K, V> {
  readonly #map = new Map<K, Slot<V>>();
  readonly #stale: number;
  #ops = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error('BoundedMap: max must be an integer >= 1');
    this.#stale = Math.max(1, max >> 1);
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, now among the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    const now = ++this.#ops;
    if (now - slot.moved >= this.#stale) {
      this.#map.delete(key);
      this.#map.set(key, slot);
      slot.moved = now;
    }
    return slot.value;
  }

  /** The value of `key`, made by `make` (and kept) when absent; among the most recently used either way. */
  getOrCreate(key: K, make: () => V): V {
    const v = this.get(key);
    if (v !== undefined) return v;
    const made = make();
    this.set(key, made);
    return made;
  }

  set(key: K, value: V): void {
    const slot = this.#map.get(key);
    const now = ++this.#ops;
    if (slot !== undefined) {
      slot.value = value;
      if (now - slot.moved < this.#stale) return;
      this.#map.delete(key);
    }
    this.#map.set(key, { value, moved: now });
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  *values(): IterableIterator<V> {
    for (const slot of this.#map.values()) yield slot.value;
  }
}
