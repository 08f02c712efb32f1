import { UmbraError } from "@umbra/protocol";
import { readArray, readCount, readNumber, readObject } from "../internal/json-read.ts";
import { SeededRandom, seededRandomFromJSON } from "./seeded-random.ts";

/** The JSON form of a {@link Reservoir}. */
export interface ReservoirJson<T> {
  capacity: number;
  seen: number;
  randomState: number;
  items: T[];
}

/**
 * A bounded uniform sample of a stream (Vitter's Algorithm R) with a seeded random source whose
 * state is part of the JSON form, so a restored reservoir continues exactly where it stopped.
 * Holds at most `capacity` items however long the stream; `seen` counts every item offered.
 *
 * Merging is weighted by what each side saw: the merged sample draws each of its
 * min(capacity, seenA + seenB) slots from side A with probability (A's unsampled remainder) ÷
 * (both remainders) — a hypergeometric split — and takes that many items uniformly from each
 * side's sample, so the result is again a uniform sample of the union.
 */
export class Reservoir<T> {
  /** Most items kept. */
  readonly capacity: number;
  /** Items offered so far. */
  seen = 0;
  readonly #items: T[] = [];
  readonly #random: SeededRandom;

  constructor(capacity: number, random: SeededRandom) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 1_000_000) {
      throw UmbraError.invalid("capacity", "must be an integer in [0, 1000000]");
    }
    this.capacity = capacity;
    this.#random = random;
  }

  /** The sampled items (at most `capacity`). */
  get items(): readonly T[] {
    return this.#items;
  }

  /** The random source's current state. */
  get randomState(): number {
    return this.#random.state;
  }

  /**
   * Offers one item; returns whether it was kept. O(1): one random draw once full.
   */
  offer(item: T): boolean {
    const slot = this.#slot();
    if (slot < 0) return false;
    this.#items[slot] = item;
    return true;
  }

  /**
   * Offers an item that is only built when kept — `make(arg)` runs for about capacity·ln(n/capacity)
   * of n offers — so a costly example (a JSON-safe copy of a record) is not built in vain.
   */
  offerLazy<A>(make: (arg: A) => T, arg: A): boolean {
    const slot = this.#slot();
    if (slot < 0) return false;
    this.#items[slot] = make(arg);
    return true;
  }

  #slot(): number {
    const n = this.seen++;
    if (n < this.capacity) return n;
    const j = this.#random.nextInt(n + 1);
    return j < this.capacity ? j : -1;
  }

  /** Merges another reservoir of the same capacity into this one (see the class comment). */
  merge(other: Reservoir<T>): this {
    if (other.capacity !== this.capacity) {
      throw UmbraError.invalid(
        "capacity",
        `cannot merge a reservoir of ${other.capacity} into one of ${this.capacity}`,
      );
    }
    if (other.seen === 0) return this;
    if (this.seen === 0) {
      this.seen = other.seen;
      this.#items.push(...other.#items);
      return this;
    }
    const take = Math.min(this.capacity, this.seen + other.seen);
    let restA = this.seen;
    let restB = other.seen;
    let fromA = 0;
    for (let i = 0; i < take; i++) {
      if (this.#random.next() * (restA + restB) < restA) {
        fromA++;
        restA--;
      } else {
        restB--;
      }
    }
    const merged = [...this.#pick(this.#items, fromA), ...this.#pick(other.#items, take - fromA)];
    this.#items.length = 0;
    this.#items.push(...merged);
    this.seen += other.seen;
    return this;
  }

  // A uniform k-subset by a partial Fisher–Yates shuffle of a copy.
  #pick(items: readonly T[], k: number): T[] {
    const pool = [...items];
    for (let i = 0; i < k; i++) {
      const j = i + this.#random.nextInt(pool.length - i);
      const t = pool[i] as T;
      pool[i] = pool[j] as T;
      pool[j] = t;
    }
    return pool.slice(0, k);
  }

  /** A copy (items shared, not deep-copied) with the same random state. */
  clone(): Reservoir<T> {
    const copy = new Reservoir<T>(this.capacity, new SeededRandom(this.#random.state));
    copy.seen = this.seen;
    copy.#items.push(...this.#items);
    return copy;
  }

  /** The JSON form; items are included as they are, so they must be JSON-safe. */
  toJSON(): ReservoirJson<T> {
    return {
      capacity: this.capacity,
      seen: this.seen,
      randomState: this.#random.state,
      items: [...this.#items],
    };
  }

  /** @internal Loads items (used by {@link reservoirFromJSON}). */
  load(seen: number, items: readonly T[]): void {
    this.seen = seen;
    this.#items.push(...items);
  }
}

/** Creates an empty {@link Reservoir} of `capacity` items whose randomness starts from `seed`. */
export function createReservoir<T>(options: { capacity: number; seed: number }): Reservoir<T> {
  return new Reservoir<T>(options.capacity, new SeededRandom(options.seed));
}

/**
 * Reads a {@link Reservoir} from its JSON form, naming `path` in errors; `readItem` checks and
 * converts each item (default: taken as it is).
 */
export function reservoirFromJSON<T>(
  json: unknown,
  path = "",
  readItem: (value: unknown, path: string) => T = (v) => v as T,
): Reservoir<T> {
  const o = readObject(json, path);
  const capacity = readNumber(o.capacity, `${path}/capacity`, {
    min: 0,
    max: 1_000_000,
    integer: true,
  });
  const reservoir = new Reservoir<T>(
    capacity,
    seededRandomFromJSON(o.randomState, `${path}/randomState`),
  );
  const seen = readCount(o.seen, `${path}/seen`);
  const items = readArray(o.items, `${path}/items`);
  if (items.length !== Math.min(capacity, seen)) {
    throw UmbraError.invalid(`${path}/items`, "must hold min(capacity, seen) items");
  }
  reservoir.load(
    seen,
    items.map((item, i) => readItem(item, `${path}/items/${i}`)),
  );
  return reservoir;
}
