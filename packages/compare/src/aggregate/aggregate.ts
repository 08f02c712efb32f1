import {
  type ExperimentSpec,
  type ExposureRecord,
  specHash as hashOfSpec,
  type PairRecord,
  UmbraError,
  UmbraErrorCode,
} from "@umbra/protocol";
import type { CellConfig, PairFacts } from "../internal/cell-stats.ts";
import { OUTCOME_INDEX } from "../internal/cell-stats.ts";
import {
  readArray,
  readCount,
  readNumber,
  readNumberOrNull,
  readObject,
  readString,
} from "../internal/json-read.ts";
import { TimelineField } from "../internal/timeline.ts";
import {
  MISSING_VALUE,
  type VariantConfig,
  VariantStats,
  type VariantStatsJson,
  variantStatsFromJSON,
} from "../internal/variant-stats.ts";
import {
  CategoricalRates,
  type CategoricalRatesJson,
  categoricalRatesFromJSON,
} from "../statistics/categorical-rates.ts";
import {
  buildDivergentExample,
  type DivergentExample,
  type PairComparison,
} from "./divergent-example.ts";

/** A segment attribute to break results down by, with values that always get their own row. */
export interface SegmentDeclaration {
  /** The attribute name in `PairRecord.segment` (e.g. `device`). */
  readonly attribute: string;
  /** Values always tracked, whatever the bound on distinct values. */
  readonly values?: readonly string[];
}

/** Options of {@link createAggregate}. Every bound has a default; see the README for sizes. */
export interface AggregateOptions {
  /** Pairs and exposures of other experiments are refused (`invalid_argument`). */
  readonly experiment?: string;
  /** Pairs stamped with another spec hash are counted in `foreignSpecPairs`, not aggregated. */
  readonly specHash?: string;
  /** The control variant (production mirrored to itself): the noise floor in reports. */
  readonly controlVariant?: string;
  /**
   * The segment attributes to break down by. Default: every attribute seen, up to
   * `maxSegmentAttributes`, each counted from the first pair that carries it.
   */
  readonly segments?: readonly SegmentDeclaration[];
  /** Attributes tracked when `segments` is not declared. Default 8. */
  readonly maxSegmentAttributes?: number;
  /** Distinct values per attribute (declared ones included); the rest go to `__other__`. Default 32. */
  readonly maxSegmentValues?: number;
  /** Width of the timeline buckets. Default 300 000 (5 minutes). */
  readonly timeBucketMs?: number;
  /** Timeline buckets kept per variant; older ones fold into one. Default 288 (a day of 5-minute buckets). */
  readonly maxTimeBuckets?: number;
  /** Shadow variants tracked; pairs of others are counted in `droppedVariantPairs`. Default 16. */
  readonly maxVariants?: number;
  /** Bins of the similarity sketches. Default 1000 (quantile error <= 0.0005). */
  readonly similarityBins?: number;
  /** Significant digits of the latency histograms (1..5). Default 2 (within 1%). */
  readonly latencySignificantDigits?: number;
  /** Divergent examples kept per variant. Default 50. */
  readonly examplesPerVariant?: number;
  /** Divergent examples kept per variant × segment value. Default 10. */
  readonly examplesPerSegment?: number;
  /** Output fields with their own divergence rate. Default 32. */
  readonly maxFields?: number;
  /** Numeric input features correlated with divergence. Default 32. */
  readonly maxNumericFeatures?: number;
  /** Categorical input features with a divergence rate per value. Default 16. */
  readonly maxCategoricalFeatures?: number;
  /** Distinct values per categorical feature; the rest go to `__other__`. Default 32. */
  readonly maxFeatureValues?: number;
  /** SDK instances whose exposure sequence is tracked for gaps. Default 10 000. */
  readonly maxSdkInstances?: number;
  /** Seed of the reservoirs' random sources. Default 0. */
  readonly seed?: number;
}

/** {@link AggregateOptions} with every default filled in, as stored in snapshots. */
export interface ResolvedAggregateOptions {
  readonly experiment: string | null;
  readonly specHash: string | null;
  readonly controlVariant: string | null;
  readonly segments:
    | readonly { readonly attribute: string; readonly values: readonly string[] }[]
    | null;
  readonly maxSegmentAttributes: number;
  readonly maxSegmentValues: number;
  readonly timeBucketMs: number;
  readonly maxTimeBuckets: number;
  readonly maxVariants: number;
  readonly similarityBins: number;
  readonly latencySignificantDigits: number;
  readonly examplesPerVariant: number;
  readonly examplesPerSegment: number;
  readonly maxFields: number;
  readonly maxNumericFeatures: number;
  readonly maxCategoricalFeatures: number;
  readonly maxFeatureValues: number;
  readonly maxSdkInstances: number;
  readonly seed: number;
}

const LIMITS: Record<string, [min: number, max: number, fallback: number]> = {
  maxSegmentAttributes: [0, 64, 8],
  maxSegmentValues: [1, 1024, 32],
  timeBucketMs: [1, 366 * 86_400_000, 300_000],
  maxTimeBuckets: [1, 100_000, 288],
  maxVariants: [1, 256, 16],
  similarityBins: [1, 100_000, 1000],
  latencySignificantDigits: [1, 5, 2],
  examplesPerVariant: [0, 10_000, 50],
  examplesPerSegment: [0, 10_000, 10],
  maxFields: [1, 1024, 32],
  maxNumericFeatures: [0, 1024, 32],
  maxCategoricalFeatures: [0, 1024, 16],
  maxFeatureValues: [1, 10_000, 32],
  maxSdkInstances: [0, 1_000_000, 10_000],
  seed: [0, 0xffffffff, 0],
};

function optionalString(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  return readString(v, field, 256);
}

/** Checks options once, naming the offending field, and fills in the defaults. */
function resolveOptions(options: unknown, at: string): ResolvedAggregateOptions {
  const o = readObject(options ?? {}, at);
  const resolved: Record<string, unknown> = {
    experiment: optionalString(o.experiment, `${at}/experiment`),
    specHash: optionalString(o.specHash, `${at}/specHash`),
    controlVariant: optionalString(o.controlVariant, `${at}/controlVariant`),
    segments: null,
  };
  for (const [key, [min, max, fallback]] of Object.entries(LIMITS)) {
    const v = o[key];
    resolved[key] =
      v === undefined || v === null
        ? fallback
        : readNumber(v, `${at}/${key}`, { min, max, integer: true });
  }
  if (o.segments !== undefined && o.segments !== null) {
    const list = readArray(o.segments, `${at}/segments`);
    if (list.length > 64)
      throw UmbraError.invalid(`${at}/segments`, "must declare at most 64 attributes");
    const seen = new Set<string>();
    resolved.segments = list.map((s, i) => {
      const so = readObject(s, `${at}/segments/${i}`);
      const attribute = readString(so.attribute, `${at}/segments/${i}/attribute`, 64);
      if (seen.has(attribute)) {
        throw UmbraError.invalid(`${at}/segments/${i}/attribute`, "must not repeat an attribute");
      }
      seen.add(attribute);
      const values =
        so.values === undefined || so.values === null
          ? []
          : readArray(so.values, `${at}/segments/${i}/values`).map((v, j) =>
              readString(v, `${at}/segments/${i}/values/${j}`, 128),
            );
      return { attribute, values };
    });
  }
  return resolved as unknown as ResolvedAggregateOptions;
}

/** The JSON form of an {@link Aggregate}: what the collector checkpoints. */
export interface AggregateJson {
  format: "umbra.compare.aggregate";
  version: 1;
  options: ResolvedAggregateOptions;
  counters: AggregateCounters;
  window: AggregateWindow;
  segmentAttributes: string[];
  sdkInstances: Record<string, [records: number, maxSeq: number]>;
  requestsByPlan: CategoricalRatesJson;
  variants: Record<string, VariantStatsJson>;
}

/** What an aggregate counted but did not aggregate, because of a bound or a mismatch. */
export interface AggregateCounters {
  /** Pairs stamped with a spec hash other than the aggregate's. */
  foreignSpecPairs: number;
  /** Pairs of variants beyond `maxVariants`. */
  droppedVariantPairs: number;
  /** Planned mirrors (from exposures) of variants beyond `maxVariants`. */
  droppedVariantMirrors: number;
  /** Attribute observations beyond `maxSegmentAttributes` (undeclared segments only). */
  droppedSegmentAttributes: number;
  /** Exposure records of SDK instances beyond `maxSdkInstances` (not checked for gaps). */
  untrackedExposureRecords: number;
}

/** The time span the aggregate has seen (request timestamps of pairs; windows of exposures). */
export interface AggregateWindow {
  firstRequestMs: number | null;
  lastRequestMs: number | null;
  firstExposureMs: number | null;
  lastExposureMs: number | null;
}

/** Selects a segment cell: one attribute and one of its values. */
export interface SegmentKey {
  readonly attribute: string;
  readonly value: string;
}

// A declared attribute named like an Object.prototype member ("constructor") must not read
// the prototype when a pair lacks it.
function segmentValue(segment: Readonly<Record<string, string>>, attribute: string): string {
  const value = segment[attribute];
  return typeof value === "string" ? value : MISSING_VALUE;
}

function makeExample(f: PairFacts): DivergentExample {
  return buildDivergentExample(f.pair, f.comparison ?? { divergent: true, similarity: null });
}

/**
 * The evidence of one experiment, for one time window: per shadow variant and per segment
 * value, everything the report and the promotion criteria need, in bounded memory, mergeable
 * across replicas and windows, and serializable to plain JSON.
 *
 * Feed it compared pairs ({@link Aggregate.addPair}) and exposure counts
 * ({@link Aggregate.addExposure}); read it with `buildReport`. Adding a pair is O(1) in the
 * data seen: a few counter updates, two HDR records and one sketch bin per cell it lands in
 * (the variant's and one per tracked segment attribute).
 */
export class Aggregate {
  /** The options with their defaults, as stored in snapshots. */
  readonly options: ResolvedAggregateOptions;
  /** See {@link AggregateCounters}. */
  readonly counters: AggregateCounters = {
    foreignSpecPairs: 0,
    droppedVariantPairs: 0,
    droppedVariantMirrors: 0,
    droppedSegmentAttributes: 0,
    untrackedExposureRecords: 0,
  };
  /** See {@link AggregateWindow}. */
  readonly window: AggregateWindow = {
    firstRequestMs: null,
    lastRequestMs: null,
    firstExposureMs: null,
    lastExposureMs: null,
  };
  /** Requests seen by the SDKs, per flag variant (plan) key, from exposures. */
  readonly requestsByPlan = new CategoricalRates(256);
  readonly #variants = new Map<string, VariantStats>();
  readonly #attributes: string[];
  readonly #attributeSet: Set<string>;
  readonly #autoSegments: boolean;
  readonly #sdk = new Map<string, [records: number, maxSeq: number]>();
  readonly #variantConfig: VariantConfig;
  readonly #facts: PairFacts = {
    pair: undefined as unknown as PairRecord,
    comparison: undefined,
    outcomeIndex: 0,
    compared: false,
    divergent: false,
    similarity: null,
    productionFailed: false,
    example: undefined,
    makeExample,
  };

  /** Use {@link createAggregate}. */
  constructor(options: ResolvedAggregateOptions) {
    this.options = options;
    this.#autoSegments = options.segments === null;
    this.#attributes = options.segments?.map((s) => s.attribute) ?? [];
    this.#attributeSet = new Set(this.#attributes);
    const cell: CellConfig = {
      similarityBins: options.similarityBins,
      latencyDigits: options.latencySignificantDigits,
      examples: options.examplesPerVariant,
    };
    this.#variantConfig = {
      ...cell,
      seed: options.seed,
      maxSegmentValues: options.maxSegmentValues,
      declaredValues: new Map((options.segments ?? []).map((s) => [s.attribute, s.values])),
      maxFields: options.maxFields,
      maxNumericFeatures: options.maxNumericFeatures,
      maxCategoricalFeatures: options.maxCategoricalFeatures,
      maxFeatureValues: options.maxFeatureValues,
      timeBucketMs: options.timeBucketMs,
      maxTimeBuckets: options.maxTimeBuckets,
      segmentExamples: options.examplesPerSegment,
    };
  }

  /** The shadow variants seen, in arrival order. */
  get variants(): string[] {
    return [...this.#variants.keys()];
  }

  /** The segment attributes tracked (declared, or discovered in arrival order). */
  get segmentAttributes(): readonly string[] {
    return this.#attributes;
  }

  /** Exposure records missing from the sequence of each SDK instance (lost evidence). */
  get lostExposureRecords(): number {
    let lost = 0;
    for (const [records, maxSeq] of this.#sdk.values()) lost += Math.max(0, maxSeq - records);
    return lost;
  }

  /** SDK instances whose exposures were seen. */
  get sdkInstances(): number {
    return this.#sdk.size;
  }

  #variant(name: string): VariantStats | undefined {
    let v = this.#variants.get(name);
    if (v === undefined && this.#variants.size < this.options.maxVariants) {
      v = new VariantStats(name, this.#variantConfig);
      this.#variants.set(name, v);
    }
    return v;
  }

  #checkExperiment(experiment: string): void {
    const expected = this.options.experiment;
    if (expected !== null && experiment !== expected) {
      throw UmbraError.invalid(
        "/experiment",
        `must be "${expected}" (this aggregate's experiment)`,
      );
    }
  }

  #discover(segment: Readonly<Record<string, string>>): void {
    for (const attribute in segment) {
      if (this.#attributeSet.has(attribute)) continue;
      if (this.#attributes.length < this.options.maxSegmentAttributes) {
        this.#attributes.push(attribute);
        this.#attributeSet.add(attribute);
      } else {
        this.counters.droppedSegmentAttributes++;
      }
    }
  }

  /**
   * Adds one pair record with its comparison (from `OutputComparator.comparePair`; `undefined`
   * when nothing was compared). Returns whether the pair was aggregated: `false` for a foreign
   * spec hash or a variant beyond the bound (both counted). Throws `invalid_argument` for a pair
   * of another experiment.
   */
  addPair(pair: PairRecord, comparison?: PairComparison): boolean {
    this.#checkExperiment(pair.experiment);
    if (
      this.options.specHash !== null &&
      pair.specHash !== undefined &&
      pair.specHash !== this.options.specHash
    ) {
      this.counters.foreignSpecPairs++;
      return false;
    }
    const outcomeIndex = OUTCOME_INDEX[pair.shadow.outcome];
    if (outcomeIndex === undefined) {
      throw UmbraError.invalid("/shadow/outcome", "must be a known shadow outcome");
    }
    const v = this.#variant(pair.variant);
    if (v === undefined) {
      this.counters.droppedVariantPairs++;
      return false;
    }
    const f = this.#facts;
    const productionFailed = pair.production.error !== undefined;
    f.pair = pair;
    f.comparison = comparison;
    f.outcomeIndex = outcomeIndex;
    f.productionFailed = productionFailed;
    f.compared = comparison !== undefined && outcomeIndex === 0 && !productionFailed;
    f.divergent = f.compared && (comparison as PairComparison).divergent;
    f.similarity = f.compared ? (comparison as PairComparison).similarity : null;
    f.example = undefined;

    v.total.add(f);
    const segment = pair.segment;
    if (this.#autoSegments) this.#discover(segment);
    const attributes = this.#attributes;
    for (let i = 0; i < attributes.length; i++) {
      const attribute = attributes[i] as string;
      v.segment(attribute).cell(segmentValue(segment, attribute)).add(f);
    }
    if (f.compared) {
      v.addFeatures(f);
      const fields = (comparison as PairComparison).fields;
      if (fields !== undefined) {
        for (const field in fields) v.fields.add(field, fields[field]?.divergent === true);
      }
    }
    if (outcomeIndex === 3 && pair.shadow.dropReason !== undefined) {
      v.pairDropReasons.add(pair.shadow.dropReason, false);
    }
    v.addTimeline(f);
    const t = pair.requestTimestampMs;
    const w = this.window;
    if (w.firstRequestMs === null || t < w.firstRequestMs) w.firstRequestMs = t;
    if (w.lastRequestMs === null || t > w.lastRequestMs) w.lastRequestMs = t;
    f.pair = undefined as unknown as PairRecord;
    f.comparison = undefined;
    f.example = undefined;
    return true;
  }

  /**
   * Adds one exposure record: requests per plan, and per shadow variant the mirrors planned,
   * dispatched and dropped (by reason) — the denominator of coverage. Tracks each SDK
   * instance's `seq` to count lost records. Throws `invalid_argument` for another experiment.
   */
  addExposure(record: ExposureRecord): void {
    this.#checkExperiment(record.experiment);
    const known = this.#sdk.get(record.sdkInstanceId);
    if (known !== undefined) {
      known[0]++;
      if (record.seq > known[1]) known[1] = record.seq;
    } else if (this.#sdk.size < this.options.maxSdkInstances) {
      this.#sdk.set(record.sdkInstanceId, [1, record.seq]);
    } else {
      this.counters.untrackedExposureRecords++;
    }
    const w = this.window;
    if (w.firstExposureMs === null || record.windowStartMs < w.firstExposureMs) {
      w.firstExposureMs = record.windowStartMs;
    }
    if (w.lastExposureMs === null || record.windowEndMs > w.lastExposureMs) {
      w.lastExposureMs = record.windowEndMs;
    }
    for (const entry of record.entries) {
      this.requestsByPlan.counter(entry.plan).addCounts(0, entry.requests);
      if (this.#autoSegments) this.#discover(entry.segment);
      for (const name in entry.mirrors) {
        const m = entry.mirrors[name];
        if (m === undefined) continue;
        const v = this.#variant(name);
        if (v === undefined) {
          this.counters.droppedVariantMirrors += m.planned;
          continue;
        }
        let dropped = 0;
        for (const reason in m.dropped) {
          const n = m.dropped[reason] ?? 0;
          dropped += n;
          v.mirrorDropReasons.counter(reason).addCounts(0, n);
        }
        v.total.addMirrors(m.planned, m.dispatched, dropped);
        for (const attribute of this.#attributes) {
          v.segment(attribute)
            .cell(segmentValue(entry.segment, attribute))
            .addMirrors(m.planned, m.dispatched, dropped);
        }
        const b = v.timeline.at(record.windowStartMs);
        b[TimelineField.planned] = (b[TimelineField.planned] as number) + m.planned;
      }
    }
  }

  /**
   * Merges another aggregate of the same experiment and options (the seed aside) into this
   * one. Everything but the example reservoirs merges exactly; reservoirs merge as weighted
   * uniform samples.
   */
  merge(other: Aggregate): this {
    const mine = { ...this.options, seed: 0 };
    const theirs = { ...other.options, seed: 0 };
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
      const field = Object.keys(mine).find(
        (k) =>
          JSON.stringify(mine[k as keyof typeof mine]) !==
          JSON.stringify(theirs[k as keyof typeof theirs]),
      );
      throw UmbraError.invalid(
        `/options/${field}`,
        "must be equal in both aggregates to merge them",
      );
    }
    for (const key of Object.keys(this.counters) as (keyof AggregateCounters)[]) {
      this.counters[key] += other.counters[key];
    }
    const w = this.window;
    const o = other.window;
    w.firstRequestMs = minOf(w.firstRequestMs, o.firstRequestMs);
    w.lastRequestMs = maxOf(w.lastRequestMs, o.lastRequestMs);
    w.firstExposureMs = minOf(w.firstExposureMs, o.firstExposureMs);
    w.lastExposureMs = maxOf(w.lastExposureMs, o.lastExposureMs);
    if (this.#autoSegments) {
      for (const attribute of other.#attributes) {
        if (this.#attributeSet.has(attribute)) continue;
        if (this.#attributes.length < this.options.maxSegmentAttributes) {
          this.#attributes.push(attribute);
          this.#attributeSet.add(attribute);
        }
      }
    }
    for (const [id, [records, maxSeq]] of other.#sdk) {
      const known = this.#sdk.get(id);
      if (known !== undefined) {
        known[0] += records;
        known[1] = Math.max(known[1], maxSeq);
      } else if (this.#sdk.size < this.options.maxSdkInstances) {
        this.#sdk.set(id, [records, maxSeq]);
      } else {
        this.counters.untrackedExposureRecords += records;
      }
    }
    this.requestsByPlan.merge(other.requestsByPlan);
    for (const [name, stats] of other.#variants) {
      const v = this.#variant(name);
      if (v === undefined) {
        this.counters.droppedVariantPairs += stats.total.pairs;
        this.counters.droppedVariantMirrors += stats.total.planned;
      } else {
        v.merge(stats);
      }
    }
    return this;
  }

  /** An independent copy. */
  clone(): Aggregate {
    return new Aggregate(this.options).merge(this);
  }

  /**
   * The divergent examples kept for a variant (or one of its segment values): a uniform
   * sample of that cell's divergent pairs.
   */
  examples(variant: string, segment?: SegmentKey): readonly DivergentExample[] {
    const v = this.#variants.get(variant);
    if (v === undefined) return [];
    if (segment === undefined) return v.total.examples.items;
    const cells = v.segments.get(segment.attribute);
    if (cells === undefined) return [];
    const cell =
      cells.cells.peek(segment.value) ?? (segment.value === "__other__" ? cells.other : undefined);
    return cell?.examples.items ?? [];
  }

  /** @internal The statistics of one variant, for reports. */
  statsOf(variant: string): VariantStats | undefined {
    return this.#variants.get(variant);
  }

  /** The JSON form: plain data, safe for `JSON.stringify`, read back by {@link aggregateFromJSON}. */
  toJSON(): AggregateJson {
    const variants: Record<string, VariantStatsJson> = {};
    for (const [name, v] of this.#variants) variants[name] = v.toJSON();
    const sdkInstances: Record<string, [number, number]> = {};
    for (const [id, [records, maxSeq]] of this.#sdk) sdkInstances[id] = [records, maxSeq];
    return {
      format: "umbra.compare.aggregate",
      version: 1,
      options: this.options,
      counters: { ...this.counters },
      window: { ...this.window },
      segmentAttributes: [...this.#attributes],
      sdkInstances,
      requestsByPlan: this.requestsByPlan.toJSON(),
      variants,
    };
  }

  /** @internal Restores the parts of a snapshot that are not statistics. */
  restore(json: Record<string, unknown>): void {
    const c = readObject(json.counters, "/counters");
    for (const key of Object.keys(this.counters) as (keyof AggregateCounters)[]) {
      this.counters[key] = readCount(c[key], `/counters/${key}`);
    }
    const w = readObject(json.window, "/window");
    for (const key of Object.keys(this.window) as (keyof AggregateWindow)[]) {
      this.window[key] = readNumberOrNull(w[key], `/window/${key}`);
    }
    const attributes = readArray(json.segmentAttributes, "/segmentAttributes");
    if (this.#autoSegments) {
      if (attributes.length > this.options.maxSegmentAttributes) {
        throw UmbraError.invalid("/segmentAttributes", "must not exceed maxSegmentAttributes");
      }
      attributes.forEach((a, i) => {
        const attribute = readString(a, `/segmentAttributes/${i}`, 64);
        this.#attributes.push(attribute);
        this.#attributeSet.add(attribute);
      });
    }
    const sdk = Object.entries(readObject(json.sdkInstances, "/sdkInstances"));
    if (sdk.length > this.options.maxSdkInstances) {
      throw UmbraError.invalid("/sdkInstances", "must not exceed maxSdkInstances");
    }
    for (const [id, pair] of sdk) {
      const [records, maxSeq] = readArray(pair, `/sdkInstances/${id}`);
      this.#sdk.set(id, [
        readCount(records, `/sdkInstances/${id}/0`),
        readCount(maxSeq, `/sdkInstances/${id}/1`),
      ]);
    }
    this.requestsByPlan.merge(categoricalRatesFromJSON(json.requestsByPlan, "/requestsByPlan"));
    const variants = Object.entries(readObject(json.variants, "/variants"));
    if (variants.length > this.options.maxVariants) {
      throw UmbraError.invalid("/variants", "must not exceed maxVariants");
    }
    for (const [name, v] of variants) {
      this.#variants.set(
        name,
        variantStatsFromJSON(v, `/variants/${name}`, name, this.#variantConfig),
      );
    }
  }
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

/**
 * Creates an empty {@link Aggregate}. Options are checked once: a bad one throws an
 * `invalid_argument` UmbraError naming `/options/<field>`.
 *
 * @example
 * ```ts
 * const aggregate = createAggregate({ experiment: "ranker", controlVariant: "control" });
 * aggregate.addPair(pair, comparator.comparePair(pair));
 * ```
 */
export function createAggregate(options: AggregateOptions = {}): Aggregate {
  return new Aggregate(resolveOptions(options, "/options"));
}

/** Reads an aggregate back from {@link Aggregate.toJSON}'s output, checking every field. */
export function aggregateFromJSON(json: unknown): Aggregate {
  const o = readObject(json, "");
  if (o.format !== "umbra.compare.aggregate") {
    throw UmbraError.invalid("/format", 'must be "umbra.compare.aggregate"');
  }
  if (o.version !== 1) {
    throw new UmbraError(
      UmbraErrorCode.UnsupportedVersion,
      `/version: ${String(o.version)} is not readable by this build (it reads 1)`,
      { field: "/version", rule: "must be 1" },
    );
  }
  const aggregate = new Aggregate(resolveOptions(o.options, "/options"));
  aggregate.restore(o);
  return aggregate;
}

/** A new aggregate holding both `a` and `b` (neither is changed). */
export function mergeAggregates(a: Aggregate, b: Aggregate): Aggregate {
  return a.clone().merge(b);
}

/**
 * The aggregate options an experiment spec implies: its experiment, spec hash, control variant
 * and declared segments; `extra` adds or overrides the rest (time buckets, bounds, seed).
 */
export function aggregateOptionsFromSpec(
  spec: ExperimentSpec,
  extra: Omit<AggregateOptions, "experiment" | "specHash" | "controlVariant" | "segments"> = {},
): AggregateOptions {
  const control = Object.entries(spec.variants).find(([, v]) => v.control === true)?.[0];
  return {
    ...extra,
    experiment: spec.experiment,
    specHash: hashOfSpec(spec),
    ...(control === undefined ? {} : { controlVariant: control }),
    segments: spec.segments.map((s) =>
      s.values === undefined
        ? { attribute: s.attribute }
        : { attribute: s.attribute, values: s.values },
    ),
  };
}
