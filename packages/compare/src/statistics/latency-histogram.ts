import { UmbraError } from "@umbra/protocol";
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
  type JsHistogram,
} from "hdr-histogram-js";
import { readCount, readNumber, readObject, readString } from "../internal/json-read.ts";

/** Default significant digits of latency histograms: values kept to within 1%. */
export const DEFAULT_LATENCY_SIGNIFICANT_DIGITS = 2;
/** Latencies above this are recorded as this (and counted as clamped): one hour. */
export const MAX_LATENCY_MS = 3_600_000;

/** Percentiles of a latency distribution in milliseconds (`null` when empty). */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

/** The JSON form of a {@link LatencyHistogram}. */
export interface LatencyHistogramJson {
  significantDigits: number;
  count: number;
  invalid: number;
  clamped: number;
  /** HdrHistogram's compressed V2 encoding in base64 (readable by every HdrHistogram port), microseconds; `null` when empty. */
  hdr: string | null;
}

type Digits = 1 | 2 | 3 | 4 | 5;

function newHistogram(digits: Digits): Histogram {
  // The pure-JS implementation (no WebAssembly), 32-bit counts, growing with the largest value
  // seen so an idle histogram costs a few kilobytes.
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    numberOfSignificantValueDigits: digits,
    useWebAssembly: false,
  });
}

/**
 * A copy holding the same counts, rebuilt so that equal counts always give the same object:
 * the library's encoding also carries the growth history (highest trackable value, exact
 * max), so two histograms with equal counts — one restored from a checkpoint, one not — would
 * otherwise encode differently.
 */
function canonical(h: Histogram, digits: Digits): Histogram {
  const src = h as unknown as JsHistogram;
  const out = newHistogram(digits);
  for (let i = 0; i < src.countsArrayLength; i++) {
    const count = src.getCountAtIndex(i);
    if (count > 0) out.recordValueWithCount(src.valueFromIndex(i), count);
  }
  return out;
}

/**
 * A mergeable latency histogram (HdrHistogram via `hdr-histogram-js`, pure JS) recording
 * milliseconds at microsecond resolution with `significantDigits` significant digits (default 2:
 * every reported value is within 1% of a recorded one). Recording is O(1); memory grows
 * logarithmically with the largest value and is allocated on the first record.
 */
export class LatencyHistogram {
  /** Significant decimal digits kept (1..5). */
  readonly significantDigits: Digits;
  #hdr: Histogram | undefined;
  /** Negative or NaN values refused. */
  invalid = 0;
  /** Values above {@link MAX_LATENCY_MS} recorded as that maximum. */
  clamped = 0;

  constructor(significantDigits: number = DEFAULT_LATENCY_SIGNIFICANT_DIGITS) {
    if (!Number.isInteger(significantDigits) || significantDigits < 1 || significantDigits > 5) {
      throw UmbraError.invalid("significantDigits", "must be an integer in [1, 5]");
    }
    this.significantDigits = significantDigits as Digits;
  }

  /** Records one latency in milliseconds. */
  record(latencyMs: number): void {
    if (!(latencyMs >= 0)) {
      this.invalid++;
      return;
    }
    let ms = latencyMs;
    if (ms > MAX_LATENCY_MS) {
      this.clamped++;
      ms = MAX_LATENCY_MS;
    }
    this.#hdr ??= newHistogram(this.significantDigits);
    this.#hdr.recordValue(Math.round(ms * 1000));
  }

  /** Values recorded. */
  get count(): number {
    return this.#hdr?.totalCount ?? 0;
  }

  /** The latency in ms at percentile `p` (0..100), `null` when empty. */
  percentile(p: number): number | null {
    if (!(p >= 0 && p <= 100)) throw UmbraError.invalid("p", "must be in [0, 100]");
    const h = this.#hdr;
    if (h === undefined || h.totalCount === 0) return null;
    return h.getValueAtPercentile(p) / 1000;
  }

  /**
   * How many recorded latencies may exceed `latencyMs`, erring high: a bucket counts when any
   * value it stands for is above the limit, so values up to 1% (the resolution) below the limit
   * can count too — the safe side for a latency criterion. "p99 <= limit" is the same statement
   * as "at most 1% of latencies above the limit".
   */
  countAbove(latencyMs: number): number {
    const h = this.#hdr as unknown as JsHistogram | undefined;
    if (h === undefined || h.totalCount === 0) return 0;
    const limitUs = Math.round(latencyMs * 1000);
    let above = 0;
    for (let i = 0; i < h.countsArrayLength; i++) {
      const count = h.getCountAtIndex(i);
      if (count > 0 && h.highestEquivalentValue(h.valueFromIndex(i)) > limitUs) above += count;
    }
    return above;
  }

  /** count, p50, p95, p99, max and mean in ms. */
  summary(): LatencySummary {
    const h = this.#hdr;
    if (h === undefined || h.totalCount === 0) {
      return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null };
    }
    return {
      count: h.totalCount,
      p50: h.getValueAtPercentile(50) / 1000,
      p95: h.getValueAtPercentile(95) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      // From the counts (not hdr's tracked maxValue) so a decoded copy reports the same.
      max: h.getValueAtPercentile(100) / 1000,
      mean: h.mean / 1000,
    };
  }

  /** Adds another histogram (same significant digits) into this one. */
  merge(other: LatencyHistogram): this {
    if (other.significantDigits !== this.significantDigits) {
      throw UmbraError.invalid(
        "significantDigits",
        `cannot merge a ${other.significantDigits}-digit histogram into ${this.significantDigits}`,
      );
    }
    this.invalid += other.invalid;
    this.clamped += other.clamped;
    const theirs = other.#hdr;
    if (theirs !== undefined && theirs.totalCount > 0) {
      this.#hdr ??= newHistogram(this.significantDigits);
      this.#hdr.add(theirs);
    }
    return this;
  }

  /** A copy. */
  clone(): LatencyHistogram {
    return new LatencyHistogram(this.significantDigits).merge(this);
  }

  /** HdrHistogram's compressed base64 encoding of the recorded microseconds, `null` when empty. */
  encode(): string | null {
    const h = this.#hdr;
    if (h === undefined || h.totalCount === 0) return null;
    return encodeIntoCompressedBase64(canonical(h, this.significantDigits));
  }

  /** The JSON form. */
  toJSON(): LatencyHistogramJson {
    return {
      significantDigits: this.significantDigits,
      count: this.count,
      invalid: this.invalid,
      clamped: this.clamped,
      hdr: this.encode(),
    };
  }

  /** @internal Installs a decoded histogram (used by {@link latencyHistogramFromJSON}). */
  load(hdr: Histogram): void {
    this.#hdr = canonical(hdr, this.significantDigits);
  }
}

/** Creates an empty {@link LatencyHistogram}. */
export function createLatencyHistogram(
  significantDigits: number = DEFAULT_LATENCY_SIGNIFICANT_DIGITS,
): LatencyHistogram {
  return new LatencyHistogram(significantDigits);
}

/** Reads a {@link LatencyHistogram} from its JSON form, naming `path` in errors. */
export function latencyHistogramFromJSON(json: unknown, path = ""): LatencyHistogram {
  const o = readObject(json, path);
  const digits = readNumber(o.significantDigits, `${path}/significantDigits`, {
    min: 1,
    max: 5,
    integer: true,
  });
  const histogram = new LatencyHistogram(digits);
  const count = readCount(o.count, `${path}/count`);
  histogram.invalid = readCount(o.invalid, `${path}/invalid`);
  histogram.clamped = readCount(o.clamped, `${path}/clamped`);
  if (o.hdr === null) {
    if (count !== 0) throw UmbraError.invalid(`${path}/hdr`, "must be present when count > 0");
    return histogram;
  }
  const encoded = readString(o.hdr, `${path}/hdr`, 16_000_000);
  let hdr: Histogram;
  try {
    hdr = decodeFromCompressedBase64(encoded, 32, false);
  } catch (cause) {
    throw UmbraError.invalid(`${path}/hdr`, "must be a compressed HdrHistogram V2 encoding", cause);
  }
  if (hdr.totalCount !== count) {
    throw UmbraError.invalid(`${path}/count`, "must equal the encoded histogram's total count");
  }
  if (hdr.numberOfSignificantValueDigits !== digits) {
    throw UmbraError.invalid(`${path}/significantDigits`, "must match the encoded histogram");
  }
  histogram.load(hdr);
  return histogram;
}
