import type { ExperimentSpec } from "@umbra/protocol";
import type { DecisionPolicy } from "./decision-policy.ts";

/** The criteria whose checks are statistical claims, each with its own share of alpha. */
export const StatisticalMetric = {
  divergence: "divergence",
  quality: "quality",
  latency: "latency_p99",
  errorRate: "error_rate",
} as const;
/** One of the {@link StatisticalMetric} values. */
export type StatisticalMetric = (typeof StatisticalMetric)[keyof typeof StatisticalMetric];

/** Where a check looks: the candidate overall, or one value of a segment attribute. */
export type ScopeRef =
  | { readonly kind: "overall" }
  | { readonly kind: "segment"; readonly attribute: string };

/**
 * How the spec's alpha is split (weighted Bonferroni, so the chance that any claim of the
 * experiment version is wrong stays at most `total`): half to the shadow phase, the other
 * half in equal parts to each live stage and the watch; within a window, half to the overall
 * scope and half shared by the segment attributes (then by their values) when segments are
 * declared; within a scope, equal parts per statistical criterion.
 */
export interface AlphaPlan {
  /** The spec's overall alpha (default 0.05). */
  readonly total: number;
  /** Alpha of the shadow phase. */
  readonly shadow: number;
  /** Alpha of each live stage and of the watch. */
  readonly laterWindow: number;
  /** The statistical criteria declared, in check order. */
  readonly metrics: readonly StatisticalMetric[];
  /** The alpha of one statistical check in a window with `windowAlpha`. */
  forCheck(windowAlpha: number, scope: ScopeRef): number;
}

/** The alpha of an experiment when its spec declares none. */
export const DEFAULT_ALPHA = 0.05;

/** The statistical criteria a spec declares: a zero limit is a count rule, not a claim. */
export function statisticalMetrics(spec: ExperimentSpec): StatisticalMetric[] {
  const c = spec.criteria;
  const out: StatisticalMetric[] = [];
  if (c.maxDivergenceRate !== undefined && c.maxDivergenceRate > 0) out.push("divergence");
  if (c.qualityMargin !== undefined) out.push("quality");
  if (c.maxShadowP99LatencyMs !== undefined) out.push("latency_p99");
  if (c.maxErrorRate !== undefined && c.maxErrorRate > 0) out.push("error_rate");
  return out;
}

/** Splits the spec's alpha over windows, scopes and criteria; see {@link AlphaPlan}. */
export function planAlpha(
  spec: ExperimentSpec,
  policy: DecisionPolicy,
  laterWindows: number,
): AlphaPlan {
  const total = spec.criteria.alpha ?? DEFAULT_ALPHA;
  const metrics = statisticalMetrics(spec);
  const attributes = new Map(
    spec.segments.map((s) => [s.attribute, s.values?.length ?? policy.maxSegmentValues]),
  );
  const shadow = laterWindows > 0 ? total / 2 : total;
  const laterWindow = laterWindows > 0 ? total / 2 / laterWindows : 0;
  const perMetric = Math.max(1, metrics.length);
  return {
    total,
    shadow,
    laterWindow,
    metrics,
    forCheck(windowAlpha, scope) {
      if (attributes.size === 0) return windowAlpha / perMetric;
      if (scope.kind === "overall") return windowAlpha / 2 / perMetric;
      const values = attributes.get(scope.attribute) ?? policy.maxSegmentValues;
      return windowAlpha / 2 / attributes.size / values / perMetric;
    },
  };
}
