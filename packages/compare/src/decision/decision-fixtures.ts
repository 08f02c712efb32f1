import { type ExperimentSpec, parseExperimentSpec } from "@umbra/protocol";
import type {
  CandidateEvidence,
  ExperimentEvidence,
  ScopeEvidence,
  TrafficSplit,
} from "./evidence.ts";

// Builders shared by the decision tests: a realistic spec and evidence written as a few
// numbers instead of a page of counts. Not exported from the package.

/** The start of every test clock. */
export const T0 = Date.UTC(2026, 2, 1, 10);
/** Minutes, for readable times. */
export const MIN = 60_000;

/** A spec with every criterion, one declared segment, two short stages and a watch. */
export function testSpec(
  patch: {
    /** Criteria to change; `undefined` removes one. */
    criteria?: {
      [K in keyof ExperimentSpec["criteria"]]?: ExperimentSpec["criteria"][K] | undefined;
    };
    segments?: ExperimentSpec["segments"];
    stages?: ExperimentSpec["stages"];
    watchMs?: number;
    control?: boolean;
  } = {},
): ExperimentSpec {
  const criteria = {
    maxDivergenceRate: 0.1,
    qualityMargin: 0.02,
    maxShadowP99LatencyMs: 100,
    maxErrorRate: 0.01,
    maxSideEffectAttempts: 0,
    minCoverage: 0.9,
    minSamples: 1_000,
    minSamplesPerSegment: 200,
    minDurationMs: 10 * MIN,
    maxDurationMs: 60 * MIN,
    alpha: 0.05,
    ...patch.criteria,
  };
  for (const [k, v] of Object.entries(criteria)) {
    if (v === undefined) delete (criteria as Record<string, unknown>)[k];
  }
  return parseExperimentSpec({
    schema: 1,
    experiment: "ranker",
    live: "prod",
    variants: {
      prod: { target: { kind: "local" } },
      A: { target: { kind: "local" } },
      B: { target: { kind: "local" }, sampleBasisPoints: 2_500 },
      ...(patch.control === true ? { ctl: { target: { kind: "local" }, control: true } } : {}),
    },
    outputs: { label: { kind: "exact" } },
    segments: patch.segments ?? [{ attribute: "device", values: ["mobile", "desktop"] }],
    criteria,
    stages: patch.stages ?? [
      { name: "live-10", rolloutBasisPoints: 1_000, holdMs: 10 * MIN },
      { name: "live-100", rolloutBasisPoints: 10_000, holdMs: 10 * MIN },
    ],
    watchMs: patch.watchMs ?? 10 * MIN,
  });
}

/** What a scope looks like, as rates; counts are derived from `compared`. */
export interface ScopeShape {
  compared: number;
  divergenceRate?: number;
  errorRate?: number;
  aboveLimitRate?: number;
  qualityMean?: number;
  /** Share of pairs whose quality difference is non-zero (variance ≈ this). Default 0.1. */
  qualityDiscordance?: number;
  /** Quality pairs, if not every compared pair. */
  qualityPairs?: number;
}

/** A scope from its shape: errors on top of the compared (ok) pairs. */
export function scope(shape: ScopeShape): ScopeEvidence {
  const n = shape.compared;
  const errors = Math.round(((shape.errorRate ?? 0.001) * n) / (1 - (shape.errorRate ?? 0.001)));
  const q = shape.qualityPairs ?? n;
  const mean = shape.qualityMean ?? 0;
  const discordance = Math.max(shape.qualityDiscordance ?? 0.1, Math.abs(mean));
  return {
    outcomes: {
      ok: n,
      error: errors,
      timeout: 0,
      dropped: 0,
      rejected_by_breaker: 0,
      skipped_unhealthy: 0,
    },
    compared: n,
    divergent: Math.round((shape.divergenceRate ?? 0.02) * n),
    latency: { samples: n, aboveLimit: Math.round((shape.aboveLimitRate ?? 0.001) * n), p99Ms: 60 },
    // Values in {−1, 0, 1}: Σd = mean·q, Σd² = discordance·q.
    quality: { pairs: q, sum: mean * q, sumOfSquares: discordance * q },
  };
}

/** A candidate's evidence: overall plus mobile/desktop at 40/60, healthy unless told otherwise. */
export function candidate(
  shape: ScopeShape & {
    windowStartMs?: number;
    firstSeenMs?: number | null;
    lastSeenMs?: number | null;
    plannedMirrors?: number;
    sideEffectAttempts?: number;
    mobile?: Partial<ScopeShape>;
    split?: TrafficSplit | null;
  },
): CandidateEvidence {
  const mobileN = Math.round(shape.compared * 0.4);
  const { mobile, ...rest } = shape;
  const overall = scope(shape);
  return {
    windowStartMs: shape.windowStartMs ?? T0,
    plannedMirrors: shape.plannedMirrors ?? overall.outcomes.ok + overall.outcomes.error,
    firstSeenMs: shape.firstSeenMs === undefined ? T0 : shape.firstSeenMs,
    // By default the newest pair is "now" whatever the test clock says: traffic is flowing.
    lastSeenMs: shape.lastSeenMs === undefined ? T0 + 10 * 24 * 60 * MIN : shape.lastSeenMs,
    sideEffectAttempts: shape.sideEffectAttempts ?? 0,
    overall,
    segments: {
      device: {
        mobile: scope({ ...rest, compared: mobileN, ...mobile }),
        desktop: scope({ ...rest, compared: shape.compared - mobileN }),
      },
    },
    split: shape.split ?? null,
  };
}

/** Experiment evidence around some candidates. */
export function evidence(
  specHash: string,
  candidates: Record<string, CandidateEvidence>,
  patch: Partial<ExperimentEvidence> = {},
): ExperimentEvidence {
  return {
    experiment: "ranker",
    specHash,
    collectorLagMs: 0,
    exposureWindows: 100,
    missingExposureWindows: 0,
    candidates,
    ...patch,
  };
}
