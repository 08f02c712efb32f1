import { type ExperimentSpec, type ShadowOutcome, UmbraError } from "@umbra/protocol";
import type { CandidateEvidence, ScopeEvidence } from "./evidence.ts";

/** What one pair tells the engine, reduced to the facts the criteria use. */
export interface PairObservation {
  /** The shadow outcome. */
  readonly outcome: ShadowOutcome;
  /** The request timestamp. */
  readonly timestampMs: number;
  /** The request's segment attributes. */
  readonly segment: Readonly<Record<string, string>>;
  /** Whether the outputs were compared (default: outcome is `ok`). */
  readonly compared?: boolean;
  /** Whether the compared outputs diverged. */
  readonly divergent?: boolean;
  /** The candidate's latency in ms (`ok` pairs). */
  readonly latencyMs?: number;
  /** The pair fell in the candidate's warm-up window: no latency sample. */
  readonly warmup?: boolean;
  /** The per-pair quality difference candidate − baseline in [−1, 1], when known. */
  readonly qualityDifference?: number;
  /** Side effects the shadow guard blocked. */
  readonly sideEffectAttempts?: number;
}

/** Options of {@link createEvidenceAccumulator}. */
export interface EvidenceAccumulatorOptions {
  /** The frozen spec: its segments and latency limit. */
  readonly spec: ExperimentSpec;
  /** The start of the candidate's current stage. */
  readonly windowStartMs: number;
  /** Distinct values kept per attribute without declared values. Default 16. */
  readonly maxSegmentValues?: number;
}

/** The default {@link EvidenceAccumulatorOptions.maxSegmentValues}. */
export const DEFAULT_MAX_SEGMENT_VALUES = 16;

interface MutableScope {
  outcomes: Record<ShadowOutcome, number>;
  compared: number;
  divergent: number;
  latencySamples: number;
  latencyAbove: number;
  qualityPairs: number;
  qualitySum: number;
  qualitySquares: number;
}

function newScope(): MutableScope {
  return {
    outcomes: {
      ok: 0,
      error: 0,
      timeout: 0,
      dropped: 0,
      rejected_by_breaker: 0,
      skipped_unhealthy: 0,
    },
    compared: 0,
    divergent: 0,
    latencySamples: 0,
    latencyAbove: 0,
    qualityPairs: 0,
    qualitySum: 0,
    qualitySquares: 0,
  };
}

function snapshot(s: MutableScope): ScopeEvidence {
  return {
    outcomes: { ...s.outcomes },
    compared: s.compared,
    divergent: s.divergent,
    latency: { samples: s.latencySamples, aboveLimit: s.latencyAbove, p99Ms: null },
    quality: { pairs: s.qualityPairs, sum: s.qualitySum, sumOfSquares: s.qualitySquares },
  };
}

interface Attribute {
  readonly name: string;
  readonly declared: boolean;
  readonly values: Map<string, MutableScope>;
}

/**
 * Builds one candidate's {@link CandidateEvidence} from pairs, exposures and live-stage
 * splits: the reference reduction from records to evidence, used by the simulations and
 * available to the collector. One accumulator covers one evidence window (a stage); start a new
 * one when the candidate changes stage. Memory is bounded: declared segment values, plus at
 * most `maxSegmentValues` values per undeclared attribute (later ones counted in
 * `droppedSegmentValues`).
 */
export class EvidenceAccumulator {
  /** Observations of segment values beyond the bound, not broken down. */
  droppedSegmentValues = 0;
  readonly #windowStartMs: number;
  readonly #limitMs: number | undefined;
  readonly #maxValues: number;
  readonly #overall = newScope();
  readonly #attributes: Attribute[];
  #planned = 0;
  #firstSeenMs: number | null = null;
  #lastSeenMs: number | null = null;
  #sideEffects = 0;
  #split: { candidateRequests: number; totalRequests: number } | null = null;

  constructor(options: EvidenceAccumulatorOptions) {
    const maxValues = options.maxSegmentValues ?? DEFAULT_MAX_SEGMENT_VALUES;
    if (!Number.isInteger(maxValues) || maxValues < 1) {
      throw UmbraError.invalid("maxSegmentValues", "must be an integer >= 1");
    }
    if (!Number.isInteger(options.windowStartMs) || options.windowStartMs < 0) {
      throw UmbraError.invalid("windowStartMs", "must be an integer >= 0");
    }
    this.#windowStartMs = options.windowStartMs;
    this.#limitMs = options.spec.criteria.maxShadowP99LatencyMs;
    this.#maxValues = maxValues;
    this.#attributes = options.spec.segments.map((s) => ({
      name: s.attribute,
      declared: s.values !== undefined,
      values: new Map((s.values ?? []).map((v) => [v, newScope()])),
    }));
  }

  #addTo(
    scope: MutableScope,
    pair: PairObservation,
    compared: boolean,
    quality: number | null,
  ): void {
    scope.outcomes[pair.outcome]++;
    if (compared) {
      scope.compared++;
      if (pair.divergent === true) scope.divergent++;
    }
    if (pair.outcome === "ok" && pair.warmup !== true && pair.latencyMs !== undefined) {
      scope.latencySamples++;
      if (this.#limitMs !== undefined && pair.latencyMs > this.#limitMs) scope.latencyAbove++;
    } else if (pair.outcome === "timeout") {
      scope.latencySamples++;
      if (this.#limitMs !== undefined) scope.latencyAbove++;
    }
    if (quality !== null) {
      scope.qualityPairs++;
      scope.qualitySum += quality;
      scope.qualitySquares += quality * quality;
    }
  }

  /** Adds one pair. Throws an `invalid_argument` UmbraError for a quality difference outside [−1, 1]. */
  add(pair: PairObservation): void {
    const quality = pair.qualityDifference ?? null;
    if (quality !== null && !(quality >= -1 && quality <= 1)) {
      throw UmbraError.invalid("qualityDifference", "must be in [-1, 1]");
    }
    const compared = pair.compared ?? pair.outcome === "ok";
    this.#addTo(this.#overall, pair, compared, quality);
    for (const attribute of this.#attributes) {
      const value = pair.segment[attribute.name];
      if (value === undefined) continue;
      let scope = attribute.values.get(value);
      if (scope === undefined) {
        if (attribute.declared || attribute.values.size >= this.#maxValues) {
          // A declared list is the whole list: other values are not a segment to cover.
          if (!attribute.declared) this.droppedSegmentValues++;
          continue;
        }
        scope = newScope();
        attribute.values.set(value, scope);
      }
      this.#addTo(scope, pair, compared, quality);
    }
    this.#sideEffects += pair.sideEffectAttempts ?? 0;
    if (this.#firstSeenMs === null || pair.timestampMs < this.#firstSeenMs) {
      this.#firstSeenMs = pair.timestampMs;
    }
    if (this.#lastSeenMs === null || pair.timestampMs > this.#lastSeenMs) {
      this.#lastSeenMs = pair.timestampMs;
    }
  }

  /** Adds mirrors the SDKs planned for the candidate (from exposure records). */
  addPlannedMirrors(planned: number): void {
    if (!Number.isInteger(planned) || planned < 0) {
      throw UmbraError.invalid("planned", "must be an integer >= 0");
    }
    this.#planned += planned;
  }

  /** Adds live-stage requests: those bucketed, and those the candidate answered. */
  addSplit(candidateRequests: number, totalRequests: number): void {
    if (!(Number.isInteger(totalRequests) && totalRequests >= 0)) {
      throw UmbraError.invalid("totalRequests", "must be an integer >= 0");
    }
    if (!(Number.isInteger(candidateRequests) && candidateRequests >= 0)) {
      throw UmbraError.invalid("candidateRequests", "must be an integer >= 0");
    }
    if (candidateRequests > totalRequests) {
      throw UmbraError.invalid("candidateRequests", "must be <= totalRequests");
    }
    const split = this.#split ?? { candidateRequests: 0, totalRequests: 0 };
    split.candidateRequests += candidateRequests;
    split.totalRequests += totalRequests;
    this.#split = split;
  }

  /** A snapshot of the evidence so far. */
  evidence(): CandidateEvidence {
    const segments: Record<string, Record<string, ScopeEvidence>> = {};
    for (const attribute of this.#attributes) {
      const values: Record<string, ScopeEvidence> = {};
      for (const [value, scope] of attribute.values) values[value] = snapshot(scope);
      segments[attribute.name] = values;
    }
    return {
      windowStartMs: this.#windowStartMs,
      plannedMirrors: this.#planned,
      firstSeenMs: this.#firstSeenMs,
      lastSeenMs: this.#lastSeenMs,
      sideEffectAttempts: this.#sideEffects,
      overall: snapshot(this.#overall),
      segments,
      split: this.#split === null ? null : { ...this.#split },
    };
  }
}

/** Creates an {@link EvidenceAccumulator} for one candidate and one evidence window. */
export function createEvidenceAccumulator(
  options: EvidenceAccumulatorOptions,
): EvidenceAccumulator {
  return new EvidenceAccumulator(options);
}
