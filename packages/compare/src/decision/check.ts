import { bernoulliConfidenceSequence, meanConfidenceSequence } from "./confidence-sequence.ts";
import { formatConfidence, formatCount, formatRate, formatSigned } from "./format.ts";

/** The three outcomes of a check. Inconclusive never promotes. */
export const CheckOutcome = {
  pass: "pass",
  fail: "fail",
  inconclusive: "inconclusive",
} as const;
/** One of the {@link CheckOutcome} values. */
export type CheckOutcome = (typeof CheckOutcome)[keyof typeof CheckOutcome];

/**
 * What a check is about. Health checks judge the pipeline (can the evidence be trusted?),
 * criteria judge the candidate (the frozen promotion criteria), requirements say whether
 * enough has been seen.
 */
export const CheckGroup = {
  health: "health",
  criterion: "criterion",
  requirement: "requirement",
} as const;
/** One of the {@link CheckGroup} values. */
export type CheckGroup = (typeof CheckGroup)[keyof typeof CheckGroup];

/** How a check reached its outcome. */
export const CheckMethod = {
  /** An anytime-valid confidence sequence of a Bernoulli rate (beta-binomial mixture). */
  rateSequence: "beta_binomial_confidence_sequence",
  /** An asymptotic anytime-valid confidence sequence of a mean (normal mixture). */
  meanSequence: "asymptotic_normal_confidence_sequence",
  /** An exact count against a limit: no inference, no alpha. */
  count: "count",
  /** An observed pipeline value against a bound: no inference, no alpha. */
  observed: "observed",
} as const;
/** One of the {@link CheckMethod} values. */
export type CheckMethod = (typeof CheckMethod)[keyof typeof CheckMethod];

/**
 * One check of one tick, with everything needed to recompute it: the counts, the bounds, the
 * limit, the alpha spent and the rule in words.
 */
export interface Check {
  /** `group.metric` plus `[attribute=value]` for a segment scope, e.g. `criterion.quality[device=mobile]`. */
  readonly id: string;
  /** See {@link CheckGroup}. */
  readonly group: CheckGroup;
  /** `divergence`, `quality`, `latency_p99`, `error_rate`, `side_effects`, `traffic`, `coverage`, … */
  readonly metric: string;
  /** `overall` or `attribute=value`. */
  readonly scope: string;
  /** See {@link CheckOutcome}. */
  readonly outcome: CheckOutcome;
  /** See {@link CheckMethod}. */
  readonly method: CheckMethod;
  /** The rule, in words: what passes and what fails. */
  readonly rule: string;
  /** The point estimate or observed value; `null` when there is nothing to estimate from. */
  readonly observed: number | null;
  /** Lower end of the confidence sequence (statistical checks), else `null`. */
  readonly lower: number | null;
  /** Upper end of the confidence sequence (statistical checks), else `null`. */
  readonly upper: number | null;
  /** The limit or margin the rule compares with. */
  readonly limit: number | null;
  /** The alpha this check spends (0 for counts and observations). */
  readonly alpha: number;
  /** The counts behind the check. */
  readonly counts: Readonly<Record<string, number>>;
  /** The result in words. */
  readonly summary: string;
}

function idOf(group: CheckGroup, metric: string, scope: string): string {
  return scope === "overall" ? `${group}.${metric}` : `${group}.${metric}[${scope}]`;
}

/** Builds a check; the id is derived from group, metric and scope. */
export function makeCheck(f: Omit<Check, "id">): Check {
  // Field by field rather than a spread: a tick builds dozens of these.
  return {
    id: idOf(f.group, f.metric, f.scope),
    group: f.group,
    metric: f.metric,
    scope: f.scope,
    outcome: f.outcome,
    method: f.method,
    rule: f.rule,
    observed: f.observed,
    lower: f.lower,
    upper: f.upper,
    limit: f.limit,
    alpha: f.alpha,
    counts: f.counts,
    summary: f.summary,
  };
}

function where(scope: string): string {
  return scope === "overall" ? "" : ` on ${scope}`;
}

/**
 * A criterion "rate ≤ limit" on a Bernoulli rate: pass when the confidence sequence's upper end
 * is below the limit, fail when its lower end is above it, else inconclusive. A limit of 0 is a
 * count rule (any occurrence fails) with no alpha spent.
 */
export function rateCriterion(input: {
  readonly metric: string;
  readonly scope: string;
  readonly label: string;
  readonly successes: number;
  readonly trials: number;
  readonly limit: number;
  readonly alpha: number;
}): Check {
  const { metric, scope, label, successes, trials, limit, alpha } = input;
  const counts = { successes, trials };
  const observed = trials === 0 ? null : successes / trials;
  if (limit === 0) {
    const outcome = successes > 0 ? "fail" : trials > 0 ? "pass" : "inconclusive";
    return makeCheck({
      group: "criterion",
      metric,
      scope,
      outcome,
      method: "count",
      rule: `no ${label} at all (limit 0)`,
      observed,
      lower: null,
      upper: null,
      limit,
      alpha: 0,
      counts,
      summary: `${label}${where(scope)}: ${formatCount(successes)} of ${formatCount(trials)} (limit 0) — ${outcome}`,
    });
  }
  const cs = bernoulliConfidenceSequence(successes, trials, alpha);
  const outcome = cs.upper < limit ? "pass" : cs.lower > limit ? "fail" : "inconclusive";
  const level = formatConfidence(alpha);
  return makeCheck({
    group: "criterion",
    metric,
    scope,
    outcome,
    method: "beta_binomial_confidence_sequence",
    rule: `${label} ≤ ${formatRate(limit)}: pass when the upper end of its ${level} confidence sequence is below, fail when the lower end is above`,
    observed,
    lower: cs.lower,
    upper: cs.upper,
    limit,
    alpha,
    counts,
    summary:
      `${label}${where(scope)} ${observed === null ? "unknown" : formatRate(observed)} ` +
      `(${formatCount(successes)}/${formatCount(trials)}), ${level} CS [${formatRate(cs.lower)}, ${formatRate(cs.upper)}] ` +
      `vs limit ${formatRate(limit)} — ${outcome}`,
  });
}

/**
 * The quality criterion, non-inferiority with margin δ: the mean per-pair difference
 * (candidate − baseline) must be above −δ. Pass when the confidence sequence's lower end is
 * above −δ, fail when its upper end is below −δ, else inconclusive.
 */
export function qualityCriterion(input: {
  readonly scope: string;
  readonly pairs: number;
  readonly sum: number;
  readonly sumOfSquares: number;
  readonly margin: number;
  readonly alpha: number;
  readonly optimalCount: number;
  readonly priorCount: number;
}): Check {
  const { scope, pairs, sum, sumOfSquares, margin, alpha } = input;
  const cs = meanConfidenceSequence({ count: pairs, sum, sumOfSquares }, alpha, {
    optimalCount: input.optimalCount,
    min: -1,
    max: 1,
    priorCount: input.priorCount,
  });
  const limit = -margin;
  const outcome = cs.lower > limit ? "pass" : cs.upper < limit ? "fail" : "inconclusive";
  const level = formatConfidence(alpha);
  return makeCheck({
    group: "criterion",
    metric: "quality",
    scope,
    outcome,
    method: "asymptotic_normal_confidence_sequence",
    rule: `quality difference (candidate − baseline) > ${formatSigned(limit)}: pass when the lower end of its ${level} confidence sequence is above, fail when the upper end is below`,
    observed: cs.estimate,
    lower: cs.lower,
    upper: cs.upper,
    limit,
    alpha,
    counts: { pairs, sum, sumOfSquares },
    summary:
      `quality difference${where(scope)} ${cs.estimate === null ? "unknown" : formatSigned(cs.estimate)} ` +
      `over ${formatCount(pairs)} pairs, ${level} CS [${formatSigned(cs.lower)}, ${formatSigned(cs.upper)}] ` +
      `vs margin ${formatSigned(limit)} — ${outcome}`,
  });
}
