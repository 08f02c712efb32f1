import { type ShadowOutcome, UmbraError } from "@umbra/protocol";

/** Pairs by shadow outcome: every sampled mirror ends in exactly one of these. */
export type OutcomeCounts = Readonly<Record<ShadowOutcome, number>>;

/**
 * The per-pair quality difference, candidate − baseline, as running sums. Each pair contributes
 * one value in [−1, 1]: with labels, label agreement (1 if the candidate is right and the
 * baseline wrong, −1 the other way round, 0 when both agree with the label or both miss); without
 * labels, the difference of any per-pair quality score in [0, 1] (similarity to a reference, a
 * judge's grade). The mean is the candidate's quality advantage; the non-inferiority criterion
 * asks it to be above −`qualityMargin`.
 */
export interface QualityEvidence {
  /** Pairs with a quality difference (for labels: pairs whose label has arrived). */
  readonly pairs: number;
  /** Σ difference. */
  readonly sum: number;
  /** Σ difference². */
  readonly sumOfSquares: number;
}

/**
 * The candidate's latency against the spec's p99 limit. "p99 ≤ limit" is the same statement as
 * "P(latency > limit) ≤ 1%", so the engine tests the share of samples above the limit as a
 * Bernoulli rate against 1%.
 */
export interface LatencyEvidence {
  /** Latency samples: `ok` pairs outside the warm-up window, plus timeouts. */
  readonly samples: number;
  /**
   * Samples slower than `maxShadowP99LatencyMs` (a timeout always counts as slower): counted
   * exactly per pair, or from a histogram with `LatencyHistogram.countAbove`, which errs high —
   * the safe side.
   */
  readonly aboveLimit: number;
  /** The observed p99 in ms, for reports; `null` when unknown. */
  readonly p99Ms: number | null;
}

/** The evidence of one scope: the candidate overall, or one value of one declared segment. */
export interface ScopeEvidence {
  /** Pairs by shadow outcome. Error rate = (error + timeout) ÷ (ok + error + timeout). */
  readonly outcomes: OutcomeCounts;
  /** `ok` pairs whose outputs were compared (the divergence trials and the sample count). */
  readonly compared: number;
  /** Compared pairs whose outputs diverged. */
  readonly divergent: number;
  /** Latency samples and those above the limit. */
  readonly latency: LatencyEvidence;
  /** Quality difference sums. */
  readonly quality: QualityEvidence;
}

/** Requests of a live stage: how many the candidate answered out of those bucketed. */
export interface TrafficSplit {
  /** Requests the rollout bucketing sent to the candidate. */
  readonly candidateRequests: number;
  /** Requests that went through the rollout bucketing (candidate + baseline). */
  readonly totalRequests: number;
}

/**
 * What the collector knows about one candidate since its current stage began — plain numbers
 * built from its aggregates, always candidate against baseline (the live variant the spec
 * compares with) whichever side answered the user. Only pairs whose live variant is the
 * baseline count; in the watch the baseline (the previous live model) is the one mirrored, and
 * the collector flips the sides so the numbers still describe the candidate.
 */
export interface CandidateEvidence {
  /** When these counts began: the start of the candidate's current stage (or later). */
  readonly windowStartMs: number;
  /** Mirrors the SDKs planned for the candidate (from exposures). Coverage = ok ÷ planned. */
  readonly plannedMirrors: number;
  /** Request timestamp of the first pair in the window; `null` before any. */
  readonly firstSeenMs: number | null;
  /** Request timestamp of the newest pair; `null` before any. */
  readonly lastSeenMs: number | null;
  /** Side effects the candidate's shadow guard blocked. */
  readonly sideEffectAttempts: number;
  /** The candidate over all traffic. */
  readonly overall: ScopeEvidence;
  /** Per declared segment attribute, per value. */
  readonly segments: Readonly<Record<string, Readonly<Record<string, ScopeEvidence>>>>;
  /** Live stages only: the observed split of bucketed requests; `null` in shadow. */
  readonly split: TrafficSplit | null;
}

/** Everything the decision engine reads on one tick, for one experiment version. */
export interface ExperimentEvidence {
  /** The experiment. */
  readonly experiment: string;
  /** The spec version the evidence was gathered under; evidence of another version is refused. */
  readonly specHash: string;
  /** How far the collector's aggregates trail the newest records on the streams, in ms. */
  readonly collectorLagMs: number;
  /** Exposure windows received (all SDK instances). */
  readonly exposureWindows: number;
  /** Exposure windows missing from the SDK instances' sequences: lost evidence. */
  readonly missingExposureWindows: number;
  /** Per candidate variant; a candidate with nothing yet may be left out. */
  readonly candidates: Readonly<Record<string, CandidateEvidence>>;
}

const OUTCOME_KEYS: readonly ShadowOutcome[] = [
  "ok",
  "error",
  "timeout",
  "dropped",
  "rejected_by_breaker",
  "skipped_unhealthy",
];

/** Outcome counts of nothing. */
export function emptyOutcomeCounts(): OutcomeCounts {
  return { ok: 0, error: 0, timeout: 0, dropped: 0, rejected_by_breaker: 0, skipped_unhealthy: 0 };
}

/** The evidence of a scope that has seen nothing. */
export function emptyScopeEvidence(): ScopeEvidence {
  return {
    outcomes: emptyOutcomeCounts(),
    compared: 0,
    divergent: 0,
    latency: { samples: 0, aboveLimit: 0, p99Ms: null },
    quality: { pairs: 0, sum: 0, sumOfSquares: 0 },
  };
}

/** The evidence of a candidate that has seen nothing since `windowStartMs`. */
export function emptyCandidateEvidence(windowStartMs: number): CandidateEvidence {
  return {
    windowStartMs,
    plannedMirrors: 0,
    firstSeenMs: null,
    lastSeenMs: null,
    sideEffectAttempts: 0,
    overall: emptyScopeEvidence(),
    segments: {},
    split: null,
  };
}

function count(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw UmbraError.invalid(path, "must be an integer >= 0");
  }
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw UmbraError.invalid(path, "must be a finite number");
  }
  return value;
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw UmbraError.invalid(path, "must be an object");
  }
  return value as Record<string, unknown>;
}

function timeOrNull(value: unknown, path: string): void {
  if (value !== null) count(value, path);
}

function checkScope(value: unknown, path: string): void {
  const scope = object(value, path);
  const outcomes = object(scope.outcomes, `${path}/outcomes`);
  for (const key of OUTCOME_KEYS) count(outcomes[key], `${path}/outcomes/${key}`);
  const ok = outcomes.ok as number;
  const compared = count(scope.compared, `${path}/compared`);
  if (compared > ok) throw UmbraError.invalid(`${path}/compared`, "must be <= outcomes/ok");
  if (count(scope.divergent, `${path}/divergent`) > compared) {
    throw UmbraError.invalid(`${path}/divergent`, "must be <= compared");
  }
  const latency = object(scope.latency, `${path}/latency`);
  const samples = count(latency.samples, `${path}/latency/samples`);
  if (count(latency.aboveLimit, `${path}/latency/aboveLimit`) > samples) {
    throw UmbraError.invalid(`${path}/latency/aboveLimit`, "must be <= samples");
  }
  if (latency.p99Ms !== null && !(finite(latency.p99Ms, `${path}/latency/p99Ms`) >= 0)) {
    throw UmbraError.invalid(`${path}/latency/p99Ms`, "must be >= 0 or null");
  }
  const quality = object(scope.quality, `${path}/quality`);
  const pairs = count(quality.pairs, `${path}/quality/pairs`);
  const sum = finite(quality.sum, `${path}/quality/sum`);
  const squares = finite(quality.sumOfSquares, `${path}/quality/sumOfSquares`);
  // Each difference lies in [−1, 1]; a small slack absorbs floating-point sums.
  const slack = 1e-9 * (pairs + 1);
  if (Math.abs(sum) > pairs + slack) {
    throw UmbraError.invalid(
      `${path}/quality/sum`,
      "must be within ±pairs (differences lie in [-1, 1])",
    );
  }
  if (squares < -slack || squares > pairs + slack) {
    throw UmbraError.invalid(`${path}/quality/sumOfSquares`, "must be between 0 and pairs");
  }
}

/**
 * Checks one candidate's evidence (counts are integers >= 0, parts never exceed wholes,
 * quality sums fit differences in [−1, 1]). Throws an `invalid_argument` UmbraError naming the
 * JSON pointer of the first problem under `path`.
 */
export function checkCandidateEvidence(value: unknown, path = ""): CandidateEvidence {
  const e = object(value, path);
  count(e.windowStartMs, `${path}/windowStartMs`);
  count(e.plannedMirrors, `${path}/plannedMirrors`);
  timeOrNull(e.firstSeenMs, `${path}/firstSeenMs`);
  timeOrNull(e.lastSeenMs, `${path}/lastSeenMs`);
  count(e.sideEffectAttempts, `${path}/sideEffectAttempts`);
  checkScope(e.overall, `${path}/overall`);
  const segments = object(e.segments, `${path}/segments`);
  for (const [attribute, values] of Object.entries(segments)) {
    for (const [v, scope] of Object.entries(object(values, `${path}/segments/${attribute}`))) {
      checkScope(scope, `${path}/segments/${attribute}/${v}`);
    }
  }
  if (e.split !== null) {
    const split = object(e.split, `${path}/split`);
    const total = count(split.totalRequests, `${path}/split/totalRequests`);
    if (count(split.candidateRequests, `${path}/split/candidateRequests`) > total) {
      throw UmbraError.invalid(`${path}/split/candidateRequests`, "must be <= totalRequests");
    }
  }
  return value as CandidateEvidence;
}

/**
 * Checks an experiment's evidence as {@link checkCandidateEvidence} does for each candidate,
 * plus the experiment-wide fields. Returns it typed; throws an `invalid_argument` UmbraError
 * naming the JSON pointer of the first problem.
 */
export function checkExperimentEvidence(value: unknown): ExperimentEvidence {
  const e = object(value, "");
  if (typeof e.experiment !== "string") throw UmbraError.invalid("/experiment", "must be a string");
  if (typeof e.specHash !== "string" || !/^[0-9a-f]{64}$/.test(e.specHash)) {
    throw UmbraError.invalid("/specHash", "must be 64 lowercase hex characters");
  }
  if (!(finite(e.collectorLagMs, "/collectorLagMs") >= 0)) {
    throw UmbraError.invalid("/collectorLagMs", "must be >= 0");
  }
  count(e.exposureWindows, "/exposureWindows");
  count(e.missingExposureWindows, "/missingExposureWindows");
  for (const [variant, candidate] of Object.entries(object(e.candidates, "/candidates"))) {
    checkCandidateEvidence(candidate, `/candidates/${variant}`);
  }
  return value as ExperimentEvidence;
}
