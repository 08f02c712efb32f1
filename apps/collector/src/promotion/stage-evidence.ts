import {
  type CandidateEvidence,
  createEvidenceAccumulator,
  DEFAULT_MAX_SEGMENT_VALUES,
  type EvidenceAccumulator,
  type OutputComparison,
  type ScopeEvidence,
} from "@umbra/compare";
import type { ExperimentSpec, ExposureRecord, PairRecord } from "@umbra/protocol";
import type { ScoredPair } from "../state/label-join.ts";

/** Which records feed one candidate's evidence window, and since when. */
export interface WindowSpec {
  /** The candidate's stage identity (phase, stage, stage start): a new key is a new window. */
  readonly key: string;
  /** The variant the candidate is judged against. */
  readonly baseline: string;
  /**
   * The watch: the candidate answers users and the baseline is the one mirrored, so the pair's
   * production side is the candidate's and its shadow side the baseline's.
   */
  readonly flipped: boolean;
  /** A live stage: the traffic split between candidate and baseline is counted from exposures. */
  readonly live: boolean;
  /** Records with a request (or exposure window) start before this are another stage's. */
  readonly windowStartMs: number;
}

/** Quality-difference sums (candidate − baseline, per labelled pair). */
interface QualitySums {
  pairs: number;
  sum: number;
  sumOfSquares: number;
}

/** Quality from late labels, overall and per segment value; added to the evidence on read. */
interface QualityTally {
  readonly overall: QualitySums;
  readonly segments: Record<string, Record<string, QualitySums>>;
}

interface WindowJSON extends WindowSpec {
  readonly variant: string;
  /** The evidence from pairs and exposures (quality from labels is in `labelQuality`). */
  readonly evidence: CandidateEvidence;
  readonly labelQuality?: QualityTally;
  readonly trafficFirstMs: number | null;
  readonly trafficLastMs: number | null;
}

/** The evidence windows' part of a checkpoint. */
export interface StageEvidenceJSON {
  readonly specHash: string;
  readonly windows: readonly WindowJSON[];
  readonly exposureWindows: number;
  readonly missingExposureWindows: number;
}

interface Window extends WindowSpec {
  readonly variant: string;
  /** What was counted before the last restore from a checkpoint. */
  readonly base: CandidateEvidence;
  readonly acc: EvidenceAccumulator;
  readonly labelQuality: QualityTally;
  trafficFirstMs: number | null;
  trafficLastMs: number | null;
}

function emptyTally(): QualityTally {
  return { overall: { pairs: 0, sum: 0, sumOfSquares: 0 }, segments: {} };
}

function addTo(q: QualitySums, difference: number): void {
  q.pairs += 1;
  q.sum += difference;
  q.sumOfSquares += difference * difference;
}

function withQuality(scope: ScopeEvidence, q: QualitySums | undefined): ScopeEvidence {
  if (q === undefined || q.pairs === 0) return scope;
  return {
    ...scope,
    quality: {
      pairs: scope.quality.pairs + q.pairs,
      sum: scope.quality.sum + q.sum,
      sumOfSquares: scope.quality.sumOfSquares + q.sumOfSquares,
    },
  };
}

/**
 * The decision engine's evidence for one experiment version, built from the records the
 * collector applies: one window per candidate, restarted whenever the candidate changes stage,
 * holding only pairs of this spec version whose request started in the window and whose live
 * variant is the candidate's baseline (swapped in the watch). Exposures add planned mirrors
 * (coverage) and, in live stages, the traffic split and the traffic the candidate answered.
 *
 * It lives in the experiment's checkpoint, so it is exactly once like the aggregate: the
 * windows are restored with the stream positions they match.
 */
export class StageEvidence {
  /** The spec version the evidence belongs to; records of other versions are ignored. */
  readonly specHash: string;
  readonly #spec: ExperimentSpec | undefined;
  readonly #maxSegmentValues: number;
  readonly #windows = new Map<string, Window>();
  #exposureWindows = 0;
  #missingExposureWindows = 0;

  /**
   * `spec` undefined: the registered spec is not the one `specHash` names (it changed while no
   * replica held the experiment); the evidence only answers until the advancer starts the new
   * version.
   */
  constructor(
    spec: ExperimentSpec | undefined,
    specHash: string,
    json?: StageEvidenceJSON,
    maxSegmentValues = DEFAULT_MAX_SEGMENT_VALUES,
  ) {
    this.#spec = spec;
    this.specHash = specHash;
    this.#maxSegmentValues = maxSegmentValues;
    if (json !== undefined && json.specHash === specHash) {
      this.#exposureWindows = json.exposureWindows;
      this.#missingExposureWindows = json.missingExposureWindows;
      if (spec !== undefined) {
        for (const w of json.windows) {
          this.#windows.set(w.variant, {
            variant: w.variant,
            key: w.key,
            baseline: w.baseline,
            flipped: w.flipped,
            live: w.live,
            windowStartMs: w.windowStartMs,
            base: w.evidence,
            acc: this.#accumulator(w.windowStartMs),
            labelQuality: w.labelQuality ?? emptyTally(),
            trafficFirstMs: w.trafficFirstMs,
            trafficLastMs: w.trafficLastMs,
          });
        }
      }
    }
  }

  #accumulator(windowStartMs: number): EvidenceAccumulator {
    if (this.#spec === undefined) throw new Error("evidence of an unknown spec version");
    return createEvidenceAccumulator({
      spec: this.#spec,
      windowStartMs,
      maxSegmentValues: this.#maxSegmentValues,
    });
  }

  /** The window of `variant`, if it has one. */
  window(variant: string): WindowSpec | undefined {
    return this.#windows.get(variant);
  }

  /** Starts a fresh window for `variant` (whatever it had is dropped). */
  reset(variant: string, spec: WindowSpec): void {
    const acc = this.#accumulator(spec.windowStartMs);
    this.#windows.set(variant, {
      variant,
      key: spec.key,
      baseline: spec.baseline,
      flipped: spec.flipped,
      live: spec.live,
      windowStartMs: spec.windowStartMs,
      base: acc.evidence(),
      acc,
      labelQuality: emptyTally(),
      trafficFirstMs: null,
      trafficLastMs: null,
    });
  }

  /** Drops the window of `variant` (a finished candidate needs no evidence). */
  remove(variant: string): void {
    this.#windows.delete(variant);
  }

  /** Counts one applied pair (already deduplicated) in the windows it belongs to. */
  observePair(record: PairRecord, comparison: OutputComparison | undefined): void {
    if (record.specHash !== this.specHash || this.#windows.size === 0) return;
    const productionFailed = record.production.error !== undefined;
    for (const w of this.#windows.values()) {
      if (record.requestTimestampMs < w.windowStartMs) continue;
      if (!w.flipped) {
        if (record.variant !== w.variant || record.liveVariant !== w.baseline) continue;
        const compared =
          comparison !== undefined && record.shadow.outcome === "ok" && !productionFailed;
        w.acc.add({
          outcome: record.shadow.outcome,
          timestampMs: record.requestTimestampMs,
          segment: record.segment,
          compared,
          divergent: compared && comparison.divergent,
          ...(record.shadow.latencyMs === undefined ? {} : { latencyMs: record.shadow.latencyMs }),
          warmup: record.warmup,
          sideEffectAttempts: record.sideEffectAttempts,
        });
      } else {
        if (record.liveVariant !== w.variant || record.variant !== w.baseline) continue;
        // The candidate answered the user: its outcome and latency are the production side's.
        const compared =
          comparison !== undefined && record.shadow.outcome === "ok" && !productionFailed;
        w.acc.add({
          outcome: productionFailed ? "error" : "ok",
          timestampMs: record.requestTimestampMs,
          segment: record.segment,
          compared,
          divergent: compared && comparison.divergent,
          latencyMs: record.production.latencyMs,
        });
      }
    }
  }

  /**
   * Counts one pair scored against its late label: the quality difference candidate − baseline
   * is +1 when only the candidate was right, −1 when only the baseline was, 0 otherwise.
   */
  observeQuality(pair: ScoredPair, productionCorrect: boolean, shadowCorrect: boolean): void {
    if (pair.specHash !== this.specHash || pair.liveVariant === undefined) return;
    const mirrored = Number(shadowCorrect) - Number(productionCorrect);
    for (const w of this.#windows.values()) {
      if (pair.requestTimestampMs < w.windowStartMs) continue;
      let difference: number;
      if (!w.flipped && pair.variant === w.variant && pair.liveVariant === w.baseline) {
        difference = mirrored;
      } else if (w.flipped && pair.liveVariant === w.variant && pair.variant === w.baseline) {
        difference = -mirrored;
      } else {
        continue;
      }
      addTo(w.labelQuality.overall, difference);
      for (const segment of this.#spec?.segments ?? []) {
        const value = pair.segment?.[segment.attribute];
        if (value === undefined) continue;
        let values = w.labelQuality.segments[segment.attribute];
        if (values === undefined) {
          values = {};
          w.labelQuality.segments[segment.attribute] = values;
        }
        let sums = values[value];
        if (sums === undefined) {
          const allowed =
            segment.values === undefined
              ? Object.keys(values).length < this.#maxSegmentValues
              : segment.values.includes(value);
          if (!allowed) continue;
          sums = { pairs: 0, sum: 0, sumOfSquares: 0 };
          values[value] = sums;
        }
        addTo(sums, difference);
      }
    }
  }

  /**
   * Counts one applied exposure window: `missing` windows of the same SDK instance were lost
   * before it (a gap in its sequence).
   */
  observeExposure(record: ExposureRecord, missing: number): void {
    this.#exposureWindows += 1;
    this.#missingExposureWindows += missing;
    for (const w of this.#windows.values()) {
      // A window that began before the stage mixes two routings: its split would lie.
      if (record.windowStartMs < w.windowStartMs) continue;
      const mirrored = w.flipped ? w.baseline : w.variant;
      const judgedLive = w.flipped ? w.variant : w.baseline;
      let planned = 0;
      let candidateRequests = 0;
      let totalRequests = 0;
      let answered = false;
      for (const entry of record.entries) {
        // `default:<live>`: the flag was not evaluated (disabled, not ready); nothing was bucketed.
        if (entry.plan.startsWith("default:")) continue;
        const plus = entry.plan.indexOf("+");
        const live = plus < 0 ? entry.plan : entry.plan.slice(0, plus);
        if (live === judgedLive) planned += entry.mirrors[mirrored]?.planned ?? 0;
        if (live === w.variant) {
          candidateRequests += entry.requests;
          totalRequests += entry.requests;
          if (entry.requests > 0) answered = true;
        } else if (live === w.baseline) {
          totalRequests += entry.requests;
        }
      }
      if (planned > 0) w.acc.addPlannedMirrors(planned);
      if (w.live && totalRequests > 0) w.acc.addSplit(candidateRequests, totalRequests);
      if (w.live && answered) {
        if (w.trafficFirstMs === null || record.windowStartMs < w.trafficFirstMs) {
          w.trafficFirstMs = record.windowStartMs;
        }
        if (w.trafficLastMs === null || record.windowEndMs > w.trafficLastMs) {
          w.trafficLastMs = record.windowEndMs;
        }
      }
    }
  }

  /** Exposure windows received and lost since this version began. */
  get exposureCounts(): { readonly received: number; readonly missing: number } {
    return { received: this.#exposureWindows, missing: this.#missingExposureWindows };
  }

  /**
   * The evidence of `variant`'s window. In a live stage, the requests the candidate answered
   * count as traffic too: at a 100% rollout the baseline answers nothing, so no pair compares
   * the two, and the requests are what shows the stage is live.
   */
  evidence(variant: string): CandidateEvidence | undefined {
    const w = this.#windows.get(variant);
    if (w === undefined) return undefined;
    const merged = mergeEvidence(
      w.base,
      w.acc.evidence(),
      this.#maxSegmentValues,
      this.#declared(),
    );
    const segments: Record<string, Record<string, ScopeEvidence>> = {};
    for (const [attribute, values] of Object.entries(merged.segments)) {
      const tallies = w.labelQuality.segments[attribute] ?? {};
      segments[attribute] = Object.fromEntries(
        Object.entries(values).map(([value, scope]) => [value, withQuality(scope, tallies[value])]),
      );
    }
    const e: CandidateEvidence = {
      ...merged,
      overall: withQuality(merged.overall, w.labelQuality.overall),
      segments,
    };
    if (!w.live || w.trafficLastMs === null) return e;
    return {
      ...e,
      firstSeenMs: minOf(e.firstSeenMs, w.trafficFirstMs),
      lastSeenMs: maxOf(e.lastSeenMs, w.trafficLastMs),
    };
  }

  #declared(): ReadonlySet<string> {
    return new Set(
      (this.#spec?.segments ?? []).filter((s) => s.values !== undefined).map((s) => s.attribute),
    );
  }

  /** The windows as JSON, for a checkpoint. */
  toJSON(): StageEvidenceJSON {
    const declared = this.#declared();
    return {
      specHash: this.specHash,
      windows: [...this.#windows.values()].map((w) => ({
        variant: w.variant,
        key: w.key,
        baseline: w.baseline,
        flipped: w.flipped,
        live: w.live,
        windowStartMs: w.windowStartMs,
        evidence: mergeEvidence(w.base, w.acc.evidence(), this.#maxSegmentValues, declared),
        labelQuality: w.labelQuality,
        trafficFirstMs: w.trafficFirstMs,
        trafficLastMs: w.trafficLastMs,
      })),
      exposureWindows: this.#exposureWindows,
      missingExposureWindows: this.#missingExposureWindows,
    };
  }
}

function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

function mergeScope(a: ScopeEvidence, b: ScopeEvidence): ScopeEvidence {
  const outcomes = { ...a.outcomes };
  for (const [k, v] of Object.entries(b.outcomes)) {
    outcomes[k as keyof typeof outcomes] = (outcomes[k as keyof typeof outcomes] ?? 0) + v;
  }
  return {
    outcomes,
    compared: a.compared + b.compared,
    divergent: a.divergent + b.divergent,
    latency: {
      samples: a.latency.samples + b.latency.samples,
      aboveLimit: a.latency.aboveLimit + b.latency.aboveLimit,
      p99Ms: null,
    },
    quality: {
      pairs: a.quality.pairs + b.quality.pairs,
      sum: a.quality.sum + b.quality.sum,
      sumOfSquares: a.quality.sumOfSquares + b.quality.sumOfSquares,
    },
  };
}

/**
 * The sum of two evidence snapshots of the same window: what was restored from a checkpoint and
 * what was counted since. Undeclared segment attributes keep at most `maxValues` values, as the
 * accumulator does.
 */
export function mergeEvidence(
  a: CandidateEvidence,
  b: CandidateEvidence,
  maxValues: number,
  declared: ReadonlySet<string>,
): CandidateEvidence {
  const segments: Record<string, Record<string, ScopeEvidence>> = {};
  for (const attribute of new Set([...Object.keys(a.segments), ...Object.keys(b.segments)])) {
    const values: Record<string, ScopeEvidence> = { ...(a.segments[attribute] ?? {}) };
    for (const [value, scope] of Object.entries(b.segments[attribute] ?? {})) {
      const mine = values[value];
      if (mine !== undefined) values[value] = mergeScope(mine, scope);
      else if (declared.has(attribute) || Object.keys(values).length < maxValues) {
        values[value] = scope;
      }
    }
    segments[attribute] = values;
  }
  const split =
    a.split === null && b.split === null
      ? null
      : {
          candidateRequests: (a.split?.candidateRequests ?? 0) + (b.split?.candidateRequests ?? 0),
          totalRequests: (a.split?.totalRequests ?? 0) + (b.split?.totalRequests ?? 0),
        };
  return {
    windowStartMs: a.windowStartMs,
    plannedMirrors: a.plannedMirrors + b.plannedMirrors,
    firstSeenMs: minOf(a.firstSeenMs, b.firstSeenMs),
    lastSeenMs: maxOf(a.lastSeenMs, b.lastSeenMs),
    sideEffectAttempts: a.sideEffectAttempts + b.sideEffectAttempts,
    overall: mergeScope(a.overall, b.overall),
    segments,
    split,
  };
}
