import { type Check, makeCheck, qualityCriterion, rateCriterion } from "./check.ts";
import { bernoulliConfidenceSequence } from "./confidence-sequence.ts";
import type { ActivePhase } from "./decision-state.ts";
import type { EngineContext } from "./engine-context.ts";
import {
  type CandidateEvidence,
  type ExperimentEvidence,
  emptyScopeEvidence,
  type ScopeEvidence,
} from "./evidence.ts";
import { formatConfidence, formatCount, formatDuration, formatRate } from "./format.ts";

/** The p99 rule as a Bernoulli rate: at most 1% of latencies above the limit. */
export const P99_EXCEEDANCE = 0.01;

/** One scope to judge: the candidate overall or one segment value. */
export interface JudgedScope {
  /** `overall` or `attribute=value`. */
  readonly name: string;
  /** The segment attribute, for segment scopes. */
  readonly attribute: string | null;
  readonly evidence: ScopeEvidence;
}

/**
 * The scopes judged for a candidate: overall, every declared value of every declared
 * attribute (seen or not — an unseen one cannot pass), and for attributes without declared
 * values the largest observed values carrying at least `minSegmentShare` of compared pairs,
 * at most `maxSegmentValues` of them (the count the alpha split assumes).
 */
export function judgedScopes(ctx: EngineContext, e: CandidateEvidence): JudgedScope[] {
  const out: JudgedScope[] = [{ name: "overall", attribute: null, evidence: e.overall }];
  for (const segment of ctx.spec.segments) {
    const seen = e.segments[segment.attribute] ?? {};
    if (segment.values !== undefined) {
      for (const value of segment.values) {
        out.push({
          name: `${segment.attribute}=${value}`,
          attribute: segment.attribute,
          evidence: seen[value] ?? emptyScopeEvidence(),
        });
      }
      continue;
    }
    const floor = ctx.policy.minSegmentShare * e.overall.compared;
    const values = Object.entries(seen)
      .filter(([, s]) => s.compared > 0 && s.compared >= floor)
      .sort(([a, x], [b, y]) => y.compared - x.compared || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, ctx.policy.maxSegmentValues);
    for (const [value, evidence] of values) {
      out.push({ name: `${segment.attribute}=${value}`, attribute: segment.attribute, evidence });
    }
  }
  return out;
}

/** The alpha of a window: the shadow phase, or one live stage / the watch. */
export function windowAlpha(ctx: EngineContext, phase: ActivePhase): number {
  return phase === "shadow" ? ctx.alpha.shadow : ctx.alpha.laterWindow;
}

/**
 * The criteria checks of every scope (divergence, quality, latency p99, error rate), then the
 * side-effect count. Which checks exist follows the spec: an undeclared criterion is not checked.
 */
export function criterionChecks(
  ctx: EngineContext,
  e: CandidateEvidence,
  scopes: readonly JudgedScope[],
  phase: ActivePhase,
): Check[] {
  const c = ctx.spec.criteria;
  const out: Check[] = [];
  const windowA = windowAlpha(ctx, phase);
  for (const scope of scopes) {
    const alpha = ctx.alpha.forCheck(
      windowA,
      scope.attribute === null
        ? { kind: "overall" }
        : { kind: "segment", attribute: scope.attribute },
    );
    const s = scope.evidence;
    if (c.maxDivergenceRate !== undefined) {
      out.push(
        rateCriterion({
          metric: "divergence",
          scope: scope.name,
          label: "divergence rate",
          successes: s.divergent,
          trials: s.compared,
          limit: c.maxDivergenceRate,
          alpha,
        }),
      );
    }
    if (c.qualityMargin !== undefined) {
      out.push(
        qualityCriterion({
          scope: scope.name,
          pairs: s.quality.pairs,
          sum: s.quality.sum,
          sumOfSquares: s.quality.sumOfSquares,
          margin: c.qualityMargin,
          alpha,
          optimalCount:
            scope.attribute === null ? c.minSamples : (c.minSamplesPerSegment ?? c.minSamples),
          priorCount: ctx.policy.qualityPriorPairs,
        }),
      );
    }
    if (c.maxShadowP99LatencyMs !== undefined) {
      out.push(
        rateCriterion({
          metric: "latency_p99",
          scope: scope.name,
          label: `share of latencies above ${c.maxShadowP99LatencyMs} ms (p99 ≤ ${c.maxShadowP99LatencyMs} ms)`,
          successes: s.latency.aboveLimit,
          trials: s.latency.samples,
          limit: P99_EXCEEDANCE,
          alpha,
        }),
      );
    }
    if (c.maxErrorRate !== undefined) {
      const attempts = s.outcomes.ok + s.outcomes.error + s.outcomes.timeout;
      out.push(
        rateCriterion({
          metric: "error_rate",
          scope: scope.name,
          label: "error rate (errors and timeouts)",
          successes: s.outcomes.error + s.outcomes.timeout,
          trials: attempts,
          limit: c.maxErrorRate,
          alpha,
        }),
      );
    }
  }
  if (c.maxSideEffectAttempts !== undefined) {
    const limit = c.maxSideEffectAttempts;
    const attempts = e.sideEffectAttempts;
    const outcome = attempts > limit ? "fail" : "pass";
    out.push(
      makeCheck({
        group: "criterion",
        metric: "side_effects",
        scope: "overall",
        outcome,
        method: "count",
        rule: `side-effect attempts ≤ ${limit} (blocked by the shadow guard, counted exactly)`,
        observed: attempts,
        lower: null,
        upper: null,
        limit,
        alpha: 0,
        counts: { attempts },
        summary: `${formatCount(attempts)} side-effect attempts vs limit ${limit} — ${outcome}`,
      }),
    );
  }
  return out;
}

function observedCheck(
  metric: string,
  outcome: Check["outcome"],
  rule: string,
  observed: number | null,
  limit: number | null,
  counts: Record<string, number>,
  summary: string,
): Check {
  return makeCheck({
    group: "health",
    metric,
    scope: "overall",
    outcome,
    method: "observed",
    rule,
    observed,
    lower: null,
    upper: null,
    limit,
    alpha: 0,
    counts,
    summary,
  });
}

/**
 * The health checks: traffic, coverage (when the spec declares `minCoverage`), delivery loss,
 * collector lag, and in live stages the sample ratio. They judge the pipeline, not the
 * candidate, and only ever stop progress.
 */
export function healthChecks(
  ctx: EngineContext,
  experiment: ExperimentEvidence,
  e: CandidateEvidence,
  phase: ActivePhase,
  rolloutBasisPoints: number | null,
  nowMs: number,
): Check[] {
  const p = ctx.policy;
  const out: Check[] = [];
  const idleMs = e.lastSeenMs === null ? null : Math.max(0, nowMs - e.lastSeenMs);
  const trafficOk = idleMs !== null && idleMs <= p.maxIdleMs;
  out.push(
    observedCheck(
      "traffic",
      trafficOk ? "pass" : "fail",
      `a pair in the last ${formatDuration(p.maxIdleMs)}`,
      idleMs,
      p.maxIdleMs,
      { compared: e.overall.compared },
      idleMs === null
        ? "no traffic: no pair has arrived in this stage"
        : trafficOk
          ? `traffic flowing (last pair ${formatDuration(idleMs)} ago)`
          : `no traffic: the last pair arrived ${formatDuration(idleMs)} ago`,
    ),
  );
  const minCoverage = ctx.spec.criteria.minCoverage;
  if (minCoverage !== undefined) {
    const ok = e.overall.outcomes.ok;
    const planned = e.plannedMirrors;
    const coverage = planned === 0 ? null : Math.min(1, ok / planned);
    const outcome = coverage === null ? "inconclusive" : coverage >= minCoverage ? "pass" : "fail";
    out.push(
      observedCheck(
        "coverage",
        outcome,
        `ok pairs ÷ planned mirrors ≥ ${formatRate(minCoverage)}`,
        coverage,
        minCoverage,
        { ok, planned },
        coverage === null
          ? "coverage unknown: no exposure counts yet"
          : `coverage ${formatRate(coverage)} (${formatCount(ok)} ok of ${formatCount(planned)} planned) vs bound ${formatRate(minCoverage)} — ${outcome}`,
      ),
    );
  }
  const windows = experiment.exposureWindows + experiment.missingExposureWindows;
  const loss = windows === 0 ? 0 : experiment.missingExposureWindows / windows;
  const lossOk = loss <= p.maxDeliveryLossRate;
  out.push(
    observedCheck(
      "delivery_loss",
      lossOk ? "pass" : "fail",
      `missing exposure windows ≤ ${formatRate(p.maxDeliveryLossRate)}`,
      loss,
      p.maxDeliveryLossRate,
      { received: experiment.exposureWindows, missing: experiment.missingExposureWindows },
      `${formatCount(experiment.missingExposureWindows)} of ${formatCount(windows)} exposure windows lost (${formatRate(loss)}) — ${lossOk ? "pass" : "fail"}`,
    ),
  );
  const lagOk = experiment.collectorLagMs <= p.maxCollectorLagMs;
  out.push(
    observedCheck(
      "collector_lag",
      lagOk ? "pass" : "fail",
      `collector lag ≤ ${formatDuration(p.maxCollectorLagMs)}`,
      experiment.collectorLagMs,
      p.maxCollectorLagMs,
      {},
      `collector ${formatDuration(experiment.collectorLagMs)} behind the streams — ${lagOk ? "pass" : "fail"}`,
    ),
  );
  if (phase === "live" && rolloutBasisPoints !== null) {
    out.push(sampleRatioCheck(e, rolloutBasisPoints / 10_000, p.sampleRatioAlpha));
  }
  return out;
}

/**
 * Sample-ratio mismatch: the share of bucketed requests the candidate answered must be
 * consistent with the stage's rollout share. The same anytime-valid Bernoulli sequence as the
 * criteria, with its own alpha (a false alarm holds the rollout; it never promotes).
 */
export function sampleRatioCheck(e: CandidateEvidence, expected: number, alpha: number): Check {
  const split = e.split;
  const total = split?.totalRequests ?? 0;
  const got = split?.candidateRequests ?? 0;
  const level = formatConfidence(alpha);
  if (total === 0) {
    return observedCheck(
      "sample_ratio",
      "inconclusive",
      `the candidate's share of bucketed requests is consistent with ${formatRate(expected)} (${level} confidence sequence)`,
      null,
      expected,
      { candidateRequests: got, totalRequests: total },
      "traffic split unknown: no bucketed requests counted in this stage",
    );
  }
  const cs = bernoulliConfidenceSequence(got, total, alpha);
  const outcome = expected >= cs.lower && expected <= cs.upper ? "pass" : "fail";
  return makeCheck({
    group: "health",
    metric: "sample_ratio",
    scope: "overall",
    outcome,
    method: "beta_binomial_confidence_sequence",
    rule: `the candidate's share of bucketed requests is consistent with ${formatRate(expected)} (${level} confidence sequence)`,
    observed: got / total,
    lower: cs.lower,
    upper: cs.upper,
    limit: expected,
    alpha,
    counts: { candidateRequests: got, totalRequests: total },
    summary:
      `traffic split ${formatRate(got / total)} (${formatCount(got)}/${formatCount(total)}), ${level} CS ` +
      `[${formatRate(cs.lower)}, ${formatRate(cs.upper)}] vs expected ${formatRate(expected)} — ` +
      (outcome === "pass" ? "pass" : "sample-ratio mismatch"),
  });
}

function requirement(
  metric: string,
  scope: string,
  met: boolean,
  rule: string,
  observed: number,
  limit: number,
  counts: Record<string, number>,
  summary: string,
): Check {
  return makeCheck({
    group: "requirement",
    metric,
    scope,
    outcome: met ? "pass" : "inconclusive",
    method: "count",
    rule,
    observed,
    lower: null,
    upper: null,
    limit,
    alpha: 0,
    counts,
    summary,
  });
}

/** When the shadow window's clock starts: the first pair, or the stage start without traffic. */
export function shadowAnchorMs(e: CandidateEvidence, stageStartedMs: number): number {
  return e.firstSeenMs === null ? stageStartedMs : Math.max(e.firstSeenMs, stageStartedMs);
}

/** The shadow requirements: min duration (since the first pair), min samples overall and per segment. */
export function shadowRequirements(
  ctx: EngineContext,
  e: CandidateEvidence,
  scopes: readonly JudgedScope[],
  stageStartedMs: number,
  nowMs: number,
): Check[] {
  const c = ctx.spec.criteria;
  const elapsed =
    e.firstSeenMs === null ? 0 : Math.max(0, nowMs - shadowAnchorMs(e, stageStartedMs));
  const out: Check[] = [
    requirement(
      "min_duration",
      "overall",
      elapsed >= c.minDurationMs,
      `at least ${formatDuration(c.minDurationMs)} of traffic`,
      elapsed,
      c.minDurationMs,
      {},
      `${formatDuration(elapsed)} of ${formatDuration(c.minDurationMs)} of traffic`,
    ),
    requirement(
      "min_samples",
      "overall",
      e.overall.compared >= c.minSamples,
      `at least ${formatCount(c.minSamples)} compared pairs`,
      e.overall.compared,
      c.minSamples,
      { compared: e.overall.compared },
      `${formatCount(e.overall.compared)} of ${formatCount(c.minSamples)} compared pairs`,
    ),
  ];
  const perSegment = c.minSamplesPerSegment;
  if (perSegment !== undefined) {
    for (const scope of scopes) {
      if (scope.attribute === null) continue;
      const n = scope.evidence.compared;
      out.push(
        requirement(
          "segment_samples",
          scope.name,
          n >= perSegment,
          `at least ${formatCount(perSegment)} compared pairs in each declared segment`,
          n,
          perSegment,
          { compared: n },
          `${formatCount(n)} of ${formatCount(perSegment)} compared pairs on ${scope.name}`,
        ),
      );
    }
  }
  return out;
}

/** The requirement of a live stage or the watch: its hold time has passed. */
export function holdRequirement(
  stage: string,
  holdMs: number,
  stageStartedMs: number,
  nowMs: number,
): Check {
  const elapsed = Math.max(0, nowMs - stageStartedMs);
  return requirement(
    "stage_hold",
    "overall",
    elapsed >= holdMs,
    `${stage} held for ${formatDuration(holdMs)}`,
    elapsed,
    holdMs,
    {},
    `${stage} held ${formatDuration(elapsed)} of ${formatDuration(holdMs)}`,
  );
}
