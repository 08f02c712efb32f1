/**
 * A bounded set of the most recent ids, oldest evicted first: the collector's memory of pair
 * message ids beyond JetStream's duplicate window. Insertion order is kept so that the set
 * serialises to, and restores from, a plain array.
 */
export class RecentIds {
  readonly #capacity: number;
  readonly #ids = new Set<string>();
  #evicted = 0;

  constructor(capacity: number, initial: readonly string[] = []) {
    this.#capacity = capacity;
    for (const id of initial) this.add(id);
  }

  /** How many ids were evicted to stay within the capacity, over this object's life. */
  get evicted(): number {
    return this.#evicted;
  }

  /** How many ids are remembered. */
  get size(): number {
    return this.#ids.size;
  }

  /** Whether `id` is remembered. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Remembers `id`, evicting the oldest id when full; returns `false` if it was already there. */
  add(id: string): boolean {
    if (this.#capacity === 0) return true;
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) {
      // Sets iterate in insertion order, so the first key is the oldest.
      const oldest = this.#ids.values().next().value as string;
      this.#ids.delete(oldest);
      this.#evicted += 1;
    }
    return true;
  }

  /** The remembered ids, oldest first. */
  toArray(): string[] {
    return [...this.#ids];
  }
}
