/**
 * A map with a bound on keys: declared keys always exist; other keys are added while fewer than
 * `maxKeys` exist. `get` answers `undefined` for a key that does not fit, and the caller
 * decides (an `__other__` row, or a counted drop).
 */
export class BoundedKeyed<V> {
  readonly maxKeys: number;
  readonly declared: readonly string[];
  readonly #map = new Map<string, V>();
  readonly #create: (key: string) => V;

  constructor(maxKeys: number, declared: readonly string[], create: (key: string) => V) {
    this.maxKeys = Math.max(maxKeys, declared.length);
    this.declared = declared;
    this.#create = create;
    for (const key of declared) this.#map.set(key, create(key));
  }

  /** The value of `key`, created if the bound allows; `undefined` if it does not fit. */
  get(key: string): V | undefined {
    let v = this.#map.get(key);
    if (v === undefined && this.#map.size < this.maxKeys) {
      v = this.#create(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** The value of `key` if it exists, without creating it. */
  peek(key: string): V | undefined {
    return this.#map.get(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.#map.size;
  }

  /** All entries, declared keys first, then in arrival order. */
  entries(): IterableIterator<[string, V]> {
    return this.#map.entries();
  }
}
