import { UmbraError } from "@umbra/protocol";
import {
  readArray,
  readCount,
  readNumber,
  readNumberOrNull,
  readObject,
} from "../internal/json-read.ts";

/** Default number of bins of a {@link SimilaritySketch}: quantile error at most 0.0005. */
export const DEFAULT_SIMILARITY_BINS = 1000;

/** The JSON form of a {@link SimilaritySketch}; `counts` lists only non-empty bins. */
export interface SimilaritySketchJson {
  bins: number;
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  invalid: number;
  /** `[binIndex, count]` for every non-empty bin, ascending. */
  counts: [number, number][];
}

/** A compact summary of a similarity distribution. */
export interface SimilaritySummary {
  readonly count: number;
  readonly mean: number | null;
  readonly min: number | null;
  readonly p01: number | null;
  readonly p05: number | null;
  readonly p10: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly max: number | null;
}

/**
 * A mergeable sketch of values in [0, 1] (similarities): a fixed-bin histogram of `bins` equal
 * bins, plus the exact count, sum, min and max. Memory is fixed (8 bytes per bin, allocated on
 * the first value); merging adds bins, so it is exact and order-free.
 *
 * Error bound: a quantile is answered with the midpoint of the bin holding the true
 * nearest-rank quantile, clamped to [min, max], so it is within half a bin width, 1 ÷ (2·bins),
 * of the true value (0.0005 with the default 1000 bins). Values outside [0, 1] are clamped;
 * NaN is not recorded but counted in `invalid`.
 */
export class SimilaritySketch {
  /** Number of bins. */
  readonly bins: number;
  #counts: Float64Array | undefined;
  /** Values recorded. */
  count = 0;
  /** Sum of the values recorded (after clamping). */
  sum = 0;
  /** Smallest value recorded, `null` before the first. */
  min: number | null = null;
  /** Largest value recorded, `null` before the first. */
  max: number | null = null;
  /** NaN values refused. */
  invalid = 0;

  constructor(bins: number = DEFAULT_SIMILARITY_BINS) {
    if (!Number.isInteger(bins) || bins < 1 || bins > 1_000_000) {
      throw UmbraError.invalid("bins", "must be an integer in [1, 1000000]");
    }
    this.bins = bins;
  }

  /** Records one value. */
  add(value: number): void {
    if (Number.isNaN(value)) {
      this.invalid++;
      return;
    }
    const v = value < 0 ? 0 : Math.min(value, 1);
    this.#counts ??= new Float64Array(this.bins);
    const bin = v >= 1 ? this.bins - 1 : Math.floor(v * this.bins);
    (this.#counts as Float64Array)[bin] = ((this.#counts as Float64Array)[bin] as number) + 1;
    this.count++;
    this.sum += v;
    if (this.min === null || v < this.min) this.min = v;
    if (this.max === null || v > this.max) this.max = v;
  }

  /** Adds another sketch with the same number of bins into this one. */
  merge(other: SimilaritySketch): this {
    if (other.bins !== this.bins) {
      throw UmbraError.invalid("bins", `cannot merge a ${other.bins}-bin sketch into ${this.bins}`);
    }
    const theirs = other.#counts;
    if (theirs !== undefined) {
      this.#counts ??= new Float64Array(this.bins);
      const ours = this.#counts;
      for (let i = 0; i < theirs.length; i++) ours[i] = (ours[i] as number) + (theirs[i] as number);
    }
    this.count += other.count;
    this.sum += other.sum;
    this.invalid += other.invalid;
    if (other.min !== null && (this.min === null || other.min < this.min)) this.min = other.min;
    if (other.max !== null && (this.max === null || other.max > this.max)) this.max = other.max;
    return this;
  }

  /** A copy. */
  clone(): SimilaritySketch {
    return new SimilaritySketch(this.bins).merge(this);
  }

  /** The arithmetic mean, `null` when empty. */
  get mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  /**
   * The estimated `q`-quantile (0 <= q <= 1) by nearest rank: the smallest value with at least
   * ⌈q·count⌉ values at or below it. `null` when empty.
   */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1)) throw UmbraError.invalid("q", "must be in [0, 1]");
    const counts = this.#counts;
    if (counts === undefined || this.count === 0) return null;
    if (q === 0) return this.min;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i] as number;
      if (seen >= rank) {
        const mid = (i + 0.5) / this.bins;
        return Math.min(this.max as number, Math.max(this.min as number, mid));
      }
    }
    return this.max;
  }

  /** The estimated share of values strictly below `threshold` (bins below it count whole). */
  fractionBelow(threshold: number): number | null {
    const counts = this.#counts;
    if (counts === undefined || this.count === 0) return null;
    const end = Math.min(this.bins, Math.max(0, Math.floor(threshold * this.bins)));
    let below = 0;
    for (let i = 0; i < end; i++) below += counts[i] as number;
    return below / this.count;
  }

  /** count, mean, min, p01, p05, p10, p50, p90 and max. */
  summary(): SimilaritySummary {
    return {
      count: this.count,
      mean: this.mean,
      min: this.min,
      p01: this.quantile(0.01),
      p05: this.quantile(0.05),
      p10: this.quantile(0.1),
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      max: this.max,
    };
  }

  /** The JSON form (sparse: only non-empty bins). */
  toJSON(): SimilaritySketchJson {
    const counts: [number, number][] = [];
    const c = this.#counts;
    if (c !== undefined) {
      for (let i = 0; i < c.length; i++) if ((c[i] as number) > 0) counts.push([i, c[i] as number]);
    }
    return {
      bins: this.bins,
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
      invalid: this.invalid,
      counts,
    };
  }

  /** @internal Loads bin counts (used by {@link similaritySketchFromJSON}). */
  loadBins(pairs: readonly [number, number][]): void {
    if (pairs.length === 0) return;
    this.#counts ??= new Float64Array(this.bins);
    for (const [i, c] of pairs) this.#counts[i] = c;
  }
}

/** Creates an empty {@link SimilaritySketch} with `bins` bins (default 1000). */
export function createSimilaritySketch(bins: number = DEFAULT_SIMILARITY_BINS): SimilaritySketch {
  return new SimilaritySketch(bins);
}

/** Reads a {@link SimilaritySketch} from its JSON form, naming `path` in errors. */
export function similaritySketchFromJSON(json: unknown, path = ""): SimilaritySketch {
  const o = readObject(json, path);
  const bins = readNumber(o.bins, `${path}/bins`, { min: 1, max: 1_000_000, integer: true });
  const sketch = new SimilaritySketch(bins);
  sketch.count = readCount(o.count, `${path}/count`);
  sketch.sum = readNumber(o.sum, `${path}/sum`, { min: 0 });
  sketch.min = readNumberOrNull(o.min, `${path}/min`);
  sketch.max = readNumberOrNull(o.max, `${path}/max`);
  sketch.invalid = readCount(o.invalid, `${path}/invalid`);
  let total = 0;
  let last = -1;
  const pairs = readArray(o.counts, `${path}/counts`).map((entry, k) => {
    const [i, c] = readArray(entry, `${path}/counts/${k}`);
    const index = readNumber(i, `${path}/counts/${k}/0`, {
      min: last + 1,
      max: bins - 1,
      integer: true,
    });
    const count = readNumber(c, `${path}/counts/${k}/1`, { min: 1, integer: true });
    last = index;
    total += count;
    return [index, count] as [number, number];
  });
  if (total !== sketch.count) {
    throw UmbraError.invalid(`${path}/count`, "must equal the sum of the bin counts");
  }
  if ((sketch.count === 0) !== (sketch.min === null)) {
    throw UmbraError.invalid(`${path}/min`, "must be null exactly when count is 0");
  }
  sketch.loadBins(pairs);
  return sketch;
}
