import { UmbraError } from "@umbra/protocol";
import { readArray, readNumber, readNumberOrNull, readObject } from "./json-read.ts";

/** Counters of one timeline bucket, by index. */
export const TimelineField = {
  pairs: 0,
  ok: 1,
  error: 2,
  timeout: 3,
  dropped: 4,
  rejectedByBreaker: 5,
  skippedUnhealthy: 6,
  compared: 7,
  divergent: 8,
  similaritySum: 9,
  similarityCount: 10,
  planned: 11,
} as const;
const WIDTH = 12;

/** The JSON form of a timeline: each bucket as `[startMs, ...counters]`. */
export interface TimelineJson {
  bucketMs: number;
  maxBuckets: number;
  watermarkMs: number | null;
  earlier: number[] | null;
  buckets: number[][];
}

/**
 * Light per-time-bucket counters of one variant (pairs by outcome, divergence, similarity sum,
 * planned mirrors) for trends. At most `maxBuckets` buckets: when one more is needed the oldest
 * is folded into `earlier` and the watermark moves past it; later data older than the
 * watermark goes to `earlier` too. The retained buckets are always the newest `maxBuckets` keys
 * seen, so merging two timelines gives what one timeline fed everything would hold.
 */
export class Timeline {
  readonly bucketMs: number;
  readonly maxBuckets: number;
  readonly buckets = new Map<number, Float64Array>();
  earlier: Float64Array | undefined;
  watermarkMs: number | null = null;
  #lastStart = Number.NaN;
  #last: Float64Array | undefined;

  constructor(bucketMs: number, maxBuckets: number) {
    this.bucketMs = bucketMs;
    this.maxBuckets = maxBuckets;
  }

  startOf(timestampMs: number): number {
    return Math.floor(timestampMs / this.bucketMs) * this.bucketMs;
  }

  /** The counters of the bucket holding `timestampMs`. */
  at(timestampMs: number): Float64Array {
    const start = this.startOf(timestampMs);
    if (start === this.#lastStart && this.#last !== undefined) return this.#last;
    let b = this.buckets.get(start);
    if (b === undefined) {
      if (this.watermarkMs !== null && start < this.watermarkMs) return this.#earlier();
      b = new Float64Array(WIDTH);
      this.buckets.set(start, b);
      this.#enforceBound();
      if (!this.buckets.has(start)) return this.#earlier();
    }
    this.#lastStart = start;
    this.#last = b;
    return b;
  }

  #earlier(): Float64Array {
    this.earlier ??= new Float64Array(WIDTH);
    return this.earlier;
  }

  #enforceBound(): void {
    while (this.buckets.size > this.maxBuckets) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const start of this.buckets.keys()) if (start < oldest) oldest = start;
      const evicted = this.buckets.get(oldest) as Float64Array;
      this.buckets.delete(oldest);
      add(this.#earlier(), evicted);
      this.watermarkMs = oldest + this.bucketMs;
      if (oldest === this.#lastStart) {
        this.#lastStart = Number.NaN;
        this.#last = undefined;
      }
    }
  }

  merge(other: Timeline): this {
    if (other.bucketMs !== this.bucketMs || other.maxBuckets !== this.maxBuckets) {
      throw UmbraError.invalid("timeBucketMs", "timelines of different shapes cannot be merged");
    }
    if (
      other.watermarkMs !== null &&
      (this.watermarkMs === null || other.watermarkMs > this.watermarkMs)
    ) {
      this.watermarkMs = other.watermarkMs;
    }
    const wm = this.watermarkMs;
    if (wm !== null) {
      for (const [start, b] of this.buckets) {
        if (start < wm) {
          add(this.#earlier(), b);
          this.buckets.delete(start);
        }
      }
    }
    if (other.earlier !== undefined) add(this.#earlier(), other.earlier);
    for (const [start, b] of other.buckets) {
      if (wm !== null && start < wm) {
        add(this.#earlier(), b);
        continue;
      }
      let mine = this.buckets.get(start);
      if (mine === undefined) {
        mine = new Float64Array(WIDTH);
        this.buckets.set(start, mine);
      }
      add(mine, b);
    }
    this.#lastStart = Number.NaN;
    this.#last = undefined;
    this.#enforceBound();
    return this;
  }

  toJSON(): TimelineJson {
    const buckets = [...this.buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([start, b]) => [start, ...b]);
    return {
      bucketMs: this.bucketMs,
      maxBuckets: this.maxBuckets,
      watermarkMs: this.watermarkMs,
      earlier: this.earlier === undefined ? null : Array.from(this.earlier),
      buckets,
    };
  }
}

function add(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < WIDTH; i++) into[i] = (into[i] as number) + (from[i] as number);
}

function readCounters(value: unknown, path: string, offset: number): Float64Array {
  const a = readArray(value, path);
  if (a.length !== WIDTH + offset) {
    throw UmbraError.invalid(path, `must have ${WIDTH + offset} numbers`);
  }
  const out = new Float64Array(WIDTH);
  for (let i = 0; i < WIDTH; i++)
    out[i] = readNumber(a[i + offset], `${path}/${i + offset}`, { min: 0 });
  return out;
}

/** Reads a timeline from its JSON form. */
export function timelineFromJSON(json: unknown, path: string): Timeline {
  const o = readObject(json, path);
  const t = new Timeline(
    readNumber(o.bucketMs, `${path}/bucketMs`, { min: 1, integer: true }),
    readNumber(o.maxBuckets, `${path}/maxBuckets`, { min: 1, integer: true }),
  );
  t.watermarkMs = readNumberOrNull(o.watermarkMs, `${path}/watermarkMs`);
  if (o.earlier !== null) t.earlier = readCounters(o.earlier, `${path}/earlier`, 0);
  const buckets = readArray(o.buckets, `${path}/buckets`);
  if (buckets.length > t.maxBuckets) {
    throw UmbraError.invalid(`${path}/buckets`, `must have at most ${t.maxBuckets} buckets`);
  }
  buckets.forEach((b, i) => {
    const at = `${path}/buckets/${i}`;
    const start = readNumber(readArray(b, at)[0], `${at}/0`);
    t.buckets.set(start, readCounters(b, at, 1));
  });
  return t;
}
