import { readNumber } from "../internal/json-read.ts";

/**
 * A small seeded pseudo-random source (mulberry32) whose whole state is one 32-bit integer, so
 * it can be checkpointed with the structure that uses it and resumed exactly after a restart.
 * Not for cryptography.
 */
export class SeededRandom {
  /** The current state; save it and pass it to {@link createSeededRandom} to resume. */
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Creates a {@link SeededRandom} from a seed (or a saved `state`); only the low 32 bits count. */
export function createSeededRandom(seed: number): SeededRandom {
  return new SeededRandom(seed);
}

/** Reads a saved random state, naming `path` in errors. */
export function seededRandomFromJSON(json: unknown, path = ""): SeededRandom {
  return new SeededRandom(readNumber(json, path, { min: 0, max: 0xffffffff, integer: true }));
}

/** A 32-bit FNV-1a hash of a string: derives distinct, stable seeds for many structures. */
export function hashSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
