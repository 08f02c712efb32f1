import { type ShadowOutcome, UmbraError } from "@umbra/protocol";
import type { CellStats } from "../internal/cell-stats.ts";
import { OUTCOMES } from "../internal/cell-stats.ts";
import { TimelineField } from "../internal/timeline.ts";
import type { VariantStats } from "../internal/variant-stats.ts";
import type { CategoricalRates } from "../statistics/categorical-rates.ts";
import { correlationInterval } from "../statistics/correlation.ts";
import { type DivergenceBucket, divergenceBucket } from "../statistics/divergence-bucket.ts";
import type { LatencySummary } from "../statistics/latency-histogram.ts";
import type { RateCounter } from "../statistics/rate-counter.ts";
import type { SimilaritySummary } from "../statistics/similarity-sketch.ts";
import {
  type DifferenceInterval,
  rateDifferenceInterval,
  wilsonBound,
  wilsonInterval,
} from "../statistics/wilson.ts";
import type { Aggregate, AggregateCounters, AggregateWindow } from "./aggregate.ts";

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** Confidence of every interval and bound. Default 0.95. */
  readonly confidence?: number;
  /** How many segments to list as worst per variant. Default 5. */
  readonly worstSegments?: number;
  /** How many features (numeric and categorical each) to list per variant. Default 5. */
  readonly topFeatures?: number;
  /** Segments with fewer compared pairs are not ranked among the worst. Default 1. */
  readonly minSegmentSamples?: number;
  /** Overrides the aggregate's control variant. */
  readonly controlVariant?: string;
}

/** A proportion with its two-sided interval and one-sided bounds at the report's confidence. */
export interface RateSummary {
  readonly successes: number;
  readonly trials: number;
  /** successes ÷ trials; `null` with no trials. */
  readonly rate: number | null;
  /** Two-sided Wilson interval. */
  readonly lower: number;
  readonly upper: number;
  /** One-sided Wilson bounds (what promotion criteria compare against a margin). */
  readonly lowerBound: number;
  readonly upperBound: number;
}

/** Divergence with its bucket by the point estimate and by the one-sided upper bound. */
export interface DivergenceSummary extends RateSummary {
  readonly bucket: DivergenceBucket | null;
  readonly bucketAtUpperBound: DivergenceBucket | null;
}

/** Coverage: ok pairs ÷ planned mirrors (from exposures). */
export interface CoverageSummary {
  readonly okPairs: number;
  readonly plannedMirrors: number;
  readonly dispatchedMirrors: number;
  readonly droppedMirrors: number;
  /** `null` before any exposure arrived. May exceed 1 while exposures lag behind pairs. */
  readonly ratio: number | null;
}

/** The statistics of one variant or one segment value. */
export interface CellReport {
  readonly pairs: number;
  readonly outcomes: Readonly<Record<ShadowOutcome, number>>;
  /** Pairs compared (shadow ok, production ok, comparison given): the divergence denominator. */
  readonly compared: number;
  /** Shadow ok and production ok but no comparison given. */
  readonly uncompared: number;
  /** Pairs in a variant's warm-up window (excluded from latency). */
  readonly warmup: number;
  /** Pairs whose production call failed. */
  readonly productionErrors: number;
  readonly coverage: CoverageSummary;
  readonly divergence: DivergenceSummary;
  readonly similarity: SimilaritySummary;
  readonly latencyMs: {
    readonly production: LatencySummary;
    readonly shadow: LatencySummary;
    readonly productionCacheHit: LatencySummary;
    readonly shadowCacheHit: LatencySummary;
  };
  /** Cache hits ÷ pairs that reported one; `null` when none did. */
  readonly cacheHitRatio: { readonly production: number | null; readonly shadow: number | null };
  /** Shadow outcome `error` ÷ pairs. */
  readonly errorRate: RateSummary;
  /** Shadow outcome `timeout` ÷ pairs. */
  readonly timeoutRate: RateSummary;
  /** Mirrors never sent (`dropped`, `rejected_by_breaker`, `skipped_unhealthy`) ÷ pairs. */
  readonly dropRate: RateSummary;
  readonly sideEffectAttempts: number;
  readonly pairsWithSideEffects: number;
  /** Divergent examples kept. */
  readonly examples: number;
}

/** One segment value's statistics. */
export interface SegmentReport extends CellReport {
  readonly attribute: string;
  readonly value: string;
}

/** One output field's divergence. */
export interface FieldReport extends RateSummary {
  readonly field: string;
}

/** A numeric input feature's correlation with divergence (0/1). */
export interface NumericFeatureReport {
  readonly feature: string;
  readonly n: number;
  readonly correlation: number | null;
  /** Fisher-z interval of the correlation; `null` with 3 pairs or fewer. */
  readonly lower: number | null;
  readonly upper: number | null;
}

/** Divergence among pairs with one value of a categorical feature. */
export interface CategoricalFeatureReport extends RateSummary {
  readonly feature: string;
  readonly value: string;
}

/** One timeline bucket. */
export interface TimelinePoint {
  /** Start of the bucket; `null` for the fold of buckets older than the retained ones. */
  readonly startMs: number | null;
  readonly pairs: number;
  readonly ok: number;
  readonly compared: number;
  readonly divergent: number;
  readonly divergenceRate: number | null;
  readonly similarityMean: number | null;
  readonly plannedMirrors: number;
}

/** A candidate next to the control variant (the noise floor). */
export interface ControlComparison {
  readonly control: string;
  readonly controlDivergenceRate: number | null;
  /** Candidate divergence − control divergence, with Newcombe's interval. */
  readonly excessDivergence: DifferenceInterval;
  readonly controlSimilarityMean: number | null;
  readonly similarityMeanDelta: number | null;
  readonly controlSimilarityP50: number | null;
  readonly similarityP50Delta: number | null;
}

/** One shadow variant's column of the side-by-side report. */
export interface VariantReport extends CellReport {
  readonly variant: string;
  /** Whether this is the control (production mirrored to itself). */
  readonly control: boolean;
  /** The candidate against the control; `null` for the control itself or without one. */
  readonly vsControl: ControlComparison | null;
  readonly fields: readonly FieldReport[];
  /** Every tracked segment value. */
  readonly segments: readonly SegmentReport[];
  /** Segments ranked by the lower bound of their divergence, highest first. */
  readonly worstSegments: readonly SegmentReport[];
  readonly features: {
    /** Ranked by the weakest correlation the interval allows, strongest first. */
    readonly numeric: readonly NumericFeatureReport[];
    /** Values ranked by the lower bound of their divergence, highest first. */
    readonly categorical: readonly CategoricalFeatureReport[];
  };
  /** Feature observations beyond the bounds on features. */
  readonly featureOverflow: number;
  readonly dropReasons: {
    readonly pairs: Readonly<Record<string, number>>;
    readonly mirrors: Readonly<Record<string, number>>;
  };
  readonly timeline: readonly TimelinePoint[];
}

/** The side-by-side A/B/C report of one experiment. Plain JSON-safe data. */
export interface ExperimentReport {
  readonly experiment: string | null;
  readonly specHash: string | null;
  readonly controlVariant: string | null;
  readonly confidence: number;
  readonly window: AggregateWindow;
  readonly exposure: {
    readonly sdkInstances: number;
    readonly lostExposureRecords: number;
    readonly requests: number;
    readonly requestsByPlan: Readonly<Record<string, number>>;
  };
  readonly counters: AggregateCounters;
  /** The control first, then the candidates by name. */
  readonly variants: readonly VariantReport[];
}

function rateSummary(successes: number, trials: number, confidence: number): RateSummary {
  const i = wilsonInterval(successes, trials, confidence);
  return {
    successes,
    trials,
    rate: i.estimate,
    lower: i.lower,
    upper: i.upper,
    lowerBound: wilsonBound(successes, trials, "lower", confidence),
    upperBound: wilsonBound(successes, trials, "upper", confidence),
  };
}

function counterSummary(c: RateCounter, confidence: number): RateSummary {
  return rateSummary(c.successes, c.trials, confidence);
}

function cellReport(c: CellStats, confidence: number): CellReport {
  const outcomes = {} as Record<ShadowOutcome, number>;
  OUTCOMES.forEach((o, i) => {
    outcomes[o] = c.outcomes[i] as number;
  });
  const divergence = counterSummary(c.divergence, confidence);
  const notSent = outcomes.dropped + outcomes.rejected_by_breaker + outcomes.skipped_unhealthy;
  return {
    pairs: c.pairs,
    outcomes,
    compared: c.divergence.trials,
    uncompared: c.uncompared,
    warmup: c.warmup,
    productionErrors: c.productionErrors,
    coverage: {
      okPairs: outcomes.ok,
      plannedMirrors: c.planned,
      dispatchedMirrors: c.dispatched,
      droppedMirrors: c.droppedMirrors,
      ratio: c.planned === 0 ? null : outcomes.ok / c.planned,
    },
    divergence: {
      ...divergence,
      bucket: divergence.rate === null ? null : divergenceBucket(divergence.rate),
      bucketAtUpperBound: divergence.rate === null ? null : divergenceBucket(divergence.upperBound),
    },
    similarity: c.similarity.summary(),
    latencyMs: {
      production: c.productionLatency.summary(),
      shadow: c.shadowLatency.summary(),
      productionCacheHit: c.productionCacheHitLatency.summary(),
      shadowCacheHit: c.shadowCacheHitLatency.summary(),
    },
    cacheHitRatio: { production: c.productionCacheHits.rate, shadow: c.shadowCacheHits.rate },
    errorRate: rateSummary(outcomes.error, c.pairs, confidence),
    timeoutRate: rateSummary(outcomes.timeout, c.pairs, confidence),
    dropRate: rateSummary(notSent, c.pairs, confidence),
    sideEffectAttempts: c.sideEffectAttempts,
    pairsWithSideEffects: c.pairsWithSideEffects,
    examples: c.examples.items.length,
  };
}

function counts(rates: CategoricalRates): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [value, c] of rates.entries()) if (c.trials > 0) out[value] = c.trials;
  return out;
}

function byDivergenceLowerBound<T extends { lower: number; rate: number | null }>(
  a: T,
  b: T,
): number {
  return b.lower - a.lower || (b.rate ?? 0) - (a.rate ?? 0);
}

function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function timeline(v: VariantStats): TimelinePoint[] {
  const point = (startMs: number | null, b: Float64Array): TimelinePoint => {
    const compared = b[TimelineField.compared] as number;
    const simCount = b[TimelineField.similarityCount] as number;
    return {
      startMs,
      pairs: b[TimelineField.pairs] as number,
      ok: b[TimelineField.ok] as number,
      compared,
      divergent: b[TimelineField.divergent] as number,
      divergenceRate: compared === 0 ? null : (b[TimelineField.divergent] as number) / compared,
      similarityMean: simCount === 0 ? null : (b[TimelineField.similaritySum] as number) / simCount,
      plannedMirrors: b[TimelineField.planned] as number,
    };
  };
  const points = [...v.timeline.buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, b]) => point(start, b));
  if (v.timeline.earlier !== undefined) points.unshift(point(null, v.timeline.earlier));
  return points;
}

function variantReport(
  v: VariantStats,
  confidence: number,
  options: Required<Omit<ReportOptions, "controlVariant">>,
  isControl: boolean,
): Omit<VariantReport, "vsControl"> {
  const segments: SegmentReport[] = [];
  for (const [attribute, s] of v.segments) {
    const cells: [string, CellStats][] = [...s.cells.entries()];
    if (s.other !== undefined) cells.push(["__other__", s.other]);
    for (const [value, cell] of cells) {
      if (cell.pairs === 0 && cell.planned === 0) continue;
      segments.push({ attribute, value, ...cellReport(cell, confidence) });
    }
  }
  // Sorted by name so the report does not depend on arrival order (merged = fed at once).
  segments.sort((a, b) => byKey(a.attribute, b.attribute) || byKey(a.value, b.value));
  const worstSegments = segments
    .filter((s) => s.compared >= options.minSegmentSamples)
    .sort((a, b) => byDivergenceLowerBound(a.divergence, b.divergence))
    .slice(0, options.worstSegments);

  const fields: FieldReport[] = [];
  for (const [field, c] of v.fields.entries())
    fields.push({ field, ...counterSummary(c, confidence) });

  const numeric: (NumericFeatureReport & { strength: number })[] = [];
  for (const [feature, acc] of v.numericFeatures.entries()) {
    const r = acc.correlation;
    const ci = r === null ? null : correlationInterval(r, acc.n, confidence);
    // Rank by the weakest correlation the interval allows, so a strong r from a handful of
    // pairs does not outrank a moderate one from thousands.
    const strength = ci === null ? 0 : ci.lower > 0 ? ci.lower : ci.upper < 0 ? -ci.upper : 0;
    numeric.push({
      feature,
      n: acc.n,
      correlation: r,
      lower: ci?.lower ?? null,
      upper: ci?.upper ?? null,
      strength,
    });
  }
  numeric.sort(
    (a, b) =>
      b.strength - a.strength ||
      Math.abs(b.correlation ?? 0) - Math.abs(a.correlation ?? 0) ||
      byKey(a.feature, b.feature),
  );

  const categorical: CategoricalFeatureReport[] = [];
  for (const [feature, rates] of v.categoricalFeatures.entries()) {
    for (const [value, c] of rates.entries()) {
      if (c.trials > 0) categorical.push({ feature, value, ...counterSummary(c, confidence) });
    }
  }
  categorical.sort(
    (a, b) =>
      byDivergenceLowerBound(a, b) || byKey(a.feature, b.feature) || byKey(a.value, b.value),
  );

  return {
    variant: v.name,
    control: isControl,
    ...cellReport(v.total, confidence),
    fields,
    segments,
    worstSegments,
    features: {
      numeric: numeric.slice(0, options.topFeatures).map(({ strength: _, ...f }) => f),
      categorical: categorical.slice(0, options.topFeatures),
    },
    featureOverflow: v.featureOverflow,
    dropReasons: { pairs: counts(v.pairDropReasons), mirrors: counts(v.mirrorDropReasons) },
    timeline: timeline(v),
  };
}

/**
 * Turns an aggregate into the side-by-side report of its variants: per variant the counts,
 * coverage, divergence rate with its interval and bucket, similarity, production and shadow
 * latency p50/p95/p99, error/timeout/drop rates, side effects, the worst segments and the
 * features most tied to divergence — and each candidate next to the control (the noise floor).
 *
 * @example
 * ```ts
 * const report = buildReport(aggregate, { confidence: 0.95 });
 * for (const v of report.variants) console.log(v.variant, v.divergence.rate, v.divergence.bucket);
 * ```
 */
export function buildReport(aggregate: Aggregate, options: ReportOptions = {}): ExperimentReport {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) {
    throw UmbraError.invalid("confidence", "must be strictly between 0 and 1");
  }
  const resolved = {
    confidence,
    worstSegments: options.worstSegments ?? 5,
    topFeatures: options.topFeatures ?? 5,
    minSegmentSamples: options.minSegmentSamples ?? 1,
  };
  const controlName = options.controlVariant ?? aggregate.options.controlVariant;
  const names = aggregate.variants.sort((a, b) =>
    a === controlName ? -1 : b === controlName ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const control = controlName === null ? undefined : aggregate.statsOf(controlName);
  const variants: VariantReport[] = names.map((name) => {
    const v = aggregate.statsOf(name) as VariantStats;
    const isControl = name === controlName;
    const base = variantReport(v, confidence, resolved, isControl);
    let vsControl: ControlComparison | null = null;
    if (control !== undefined && !isControl) {
      const cs = control.total.similarity;
      const mine = v.total.similarity;
      const cp50 = cs.quantile(0.5);
      const p50 = mine.quantile(0.5);
      vsControl = {
        control: controlName as string,
        controlDivergenceRate: control.total.divergence.rate,
        excessDivergence: rateDifferenceInterval(
          v.total.divergence.successes,
          v.total.divergence.trials,
          control.total.divergence.successes,
          control.total.divergence.trials,
          confidence,
        ),
        controlSimilarityMean: cs.mean,
        similarityMeanDelta: cs.mean === null || mine.mean === null ? null : mine.mean - cs.mean,
        controlSimilarityP50: cp50,
        similarityP50Delta: cp50 === null || p50 === null ? null : p50 - cp50,
      };
    }
    return { ...base, vsControl };
  });
  let requests = 0;
  for (const [, c] of aggregate.requestsByPlan.entries()) requests += c.trials;
  return {
    experiment: aggregate.options.experiment,
    specHash: aggregate.options.specHash,
    controlVariant: controlName ?? null,
    confidence,
    window: { ...aggregate.window },
    exposure: {
      sdkInstances: aggregate.sdkInstances,
      lostExposureRecords: aggregate.lostExposureRecords,
      requests,
      requestsByPlan: counts(aggregate.requestsByPlan),
    },
    counters: { ...aggregate.counters },
    variants,
  };
}
