import { UmbraError } from "@umbra/protocol";

/**
 * The engine's operational parameters: what the spec does not declare because it is about the
 * pipeline rather than the candidate (health bounds, defaults for undeclared durations). They
 * are recorded in every decision's evidence, so a decision can be replayed exactly.
 */
export interface DecisionPolicy {
  /** Health: the collector may trail the streams by at most this much. Default 60 000. */
  readonly maxCollectorLagMs: number;
  /** Health: a candidate with no pair for this long has no traffic. Default 300 000. */
  readonly maxIdleMs: number;
  /** Health: at most this share of exposure windows may be missing. Default 0.01. */
  readonly maxDeliveryLossRate: number;
  /** Health: error probability of the sample-ratio-mismatch test in live stages. Default 0.001. */
  readonly sampleRatioAlpha: number;
  /** Shadow stops extending after this long when the spec declares no `maxDurationMs`. Default 7 days. */
  readonly defaultMaxDurationMs: number;
  /** The post-promotion watch when the spec declares no `watchMs`. Default 1 hour. */
  readonly defaultWatchMs: number;
  /** A live stage or the watch that cannot finish this long after its hold is held for a human. Default 1 hour. */
  readonly maxStallMs: number;
  /** Pseudo-pairs at the largest variance that regularise the quality variance. Default 10. */
  readonly qualityPriorPairs: number;
  /** Values judged per segment attribute without declared values (the alpha split assumes this many). Default 16. */
  readonly maxSegmentValues: number;
  /** An undeclared segment value is judged once it carries this share of compared pairs. Default 0.01. */
  readonly minSegmentShare: number;
}

/** The default {@link DecisionPolicy}. */
export const DEFAULT_DECISION_POLICY: DecisionPolicy = Object.freeze({
  maxCollectorLagMs: 60_000,
  maxIdleMs: 300_000,
  maxDeliveryLossRate: 0.01,
  sampleRatioAlpha: 0.001,
  defaultMaxDurationMs: 7 * 86_400_000,
  defaultWatchMs: 3_600_000,
  maxStallMs: 3_600_000,
  qualityPriorPairs: 10,
  maxSegmentValues: 16,
  minSegmentShare: 0.01,
});

const RULES: Record<keyof DecisionPolicy, [min: number, max: number, integer: boolean]> = {
  maxCollectorLagMs: [0, Number.MAX_SAFE_INTEGER, false],
  maxIdleMs: [1, Number.MAX_SAFE_INTEGER, true],
  maxDeliveryLossRate: [0, 1, false],
  sampleRatioAlpha: [Number.MIN_VALUE, 0.5, false],
  defaultMaxDurationMs: [1, Number.MAX_SAFE_INTEGER, true],
  defaultWatchMs: [0, Number.MAX_SAFE_INTEGER, true],
  maxStallMs: [0, Number.MAX_SAFE_INTEGER, true],
  qualityPriorPairs: [0, 1_000_000, false],
  maxSegmentValues: [1, 1_000, true],
  minSegmentShare: [0, 1, false],
};

/**
 * Fills in the defaults of a partial policy and checks every value, naming the field and the
 * rule it broke (`invalid_argument`).
 */
export function resolveDecisionPolicy(policy: Partial<DecisionPolicy> = {}): DecisionPolicy {
  const out: Record<string, number> = { ...DEFAULT_DECISION_POLICY };
  for (const [key, value] of Object.entries(policy)) {
    const rule = RULES[key as keyof DecisionPolicy];
    if (rule === undefined) throw UmbraError.invalid(`policy.${key}`, "is not a policy field");
    if (value === undefined) continue;
    const [min, max, integer] = rule;
    if (typeof value !== "number" || !(value >= min && value <= max)) {
      throw UmbraError.invalid(`policy.${key}`, `must be a number in [${min}, ${max}]`);
    }
    if (integer && !Number.isInteger(value)) {
      throw UmbraError.invalid(`policy.${key}`, "must be an integer");
    }
    out[key] = value;
  }
  return Object.freeze(out) as unknown as DecisionPolicy;
}
