import { UmbraError } from "@umbra/protocol";
import { logBeta } from "./log-gamma.ts";

/**
 * The bounds of a confidence sequence at one look: with probability at least 1 − `alpha` the
 * true value lies inside [lower, upper] at every look at once, however many looks are taken
 * and whenever they are taken.
 */
export interface ConfidenceBounds {
  /** The point estimate; `null` before the first observation. */
  readonly estimate: number | null;
  /** Lower end. */
  readonly lower: number;
  /** Upper end. */
  readonly upper: number;
  /** The error probability over all looks together. */
  readonly alpha: number;
}

/** A Beta(a, b) mixing distribution for {@link bernoulliConfidenceSequence}. */
export interface BetaPrior {
  readonly a: number;
  readonly b: number;
}

/**
 * The Jeffreys prior Beta(½, ½): the default mixing distribution. Its density grows towards 0
 * and 1, so the sequence is tight for the small rates Umbra tests (error rates, the 1% of
 * latencies above a p99 limit) without a tuning parameter.
 */
export const JEFFREYS_PRIOR: BetaPrior = Object.freeze({ a: 0.5, b: 0.5 });

// Root finding stops when a step moves an end by less than this fraction of it; the end kept is
// always outside the sequence, so stopping early only ever widens it.
const TOLERANCE = 1e-10;
const MAX_STEPS = 200;

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) {
    throw UmbraError.invalid("alpha", "must be strictly between 0 and 1");
  }
}

/** The numbers of one inversion of the beta-binomial mixture (plain data, no closures: hot path). */
interface MixtureProblem {
  readonly s: number;
  readonly f: number;
  readonly threshold: number;
  readonly logMixture: number;
  readonly estimate: number;
  readonly spread: number;
  readonly trials: number;
}

/** ln M(p); 0 · ln 0 is taken as 0 so p = 0 (or 1) is a candidate when no successes (or failures) were seen. */
function logRatio(m: MixtureProblem, p: number): number {
  return m.logMixture - (m.s > 0 ? m.s * Math.log(p) : 0) - (m.f > 0 ? m.f * Math.log1p(-p) : 0);
}

/** d ln M / dp. */
function slope(m: MixtureProblem, p: number): number {
  return (m.f > 0 ? m.f / (1 - p) : 0) - (m.s > 0 ? m.s / p : 0);
}

function bisect(m: MixtureProblem, inside: number, outside: number): number {
  let inner = inside;
  let outer = outside;
  for (let i = 0; i < MAX_STEPS && Math.abs(outer - inner) > TOLERANCE; i++) {
    const mid = (inner + outer) / 2;
    if (logRatio(m, mid) < m.threshold) inner = mid;
    else outer = mid;
  }
  return outer;
}

// ln M is convex in p with its minimum (<= 0, since a mixture never beats the maximum
// likelihood) at the estimate, so the sequence is an interval. Each end is found by Newton's
// method started outside the interval: on a convex function Newton's iterates then approach the
// root from outside without crossing it, so every iterate is a valid (conservative) bound.
function sequenceEnd(m: MixtureProblem, side: 1 | -1): number {
  const edge = side === 1 ? 1 : 0;
  if (logRatio(m, edge) < m.threshold) return edge;
  // A first guess a few standard errors out, pushed further until it is outside.
  let step =
    2 * m.spread * Math.sqrt(Math.max(m.estimate * (1 - m.estimate), 1 / m.trials)) +
    m.spread * m.spread;
  let p = m.estimate + side * step;
  while ((side === 1 ? p < 1 : p > 0) && logRatio(m, p) < m.threshold) {
    step *= 2;
    p = m.estimate + side * step;
  }
  if (side === 1 ? p >= 1 : p <= 0) p = bisect(m, m.estimate, edge);
  for (let i = 0; i < MAX_STEPS; i++) {
    const move = (logRatio(m, p) - m.threshold) / slope(m, p);
    const next = p - move;
    if (!(Math.abs(move) > TOLERANCE * Math.max(p, 1e-6)) || side * (next - m.estimate) <= 0) break;
    p = next;
  }
  // One tolerance further out absorbs rounding in ln M near the root, so the end returned is
  // never inside the exact sequence.
  return Math.min(1, Math.max(0, p + side * TOLERANCE * Math.max(p, 1e-6)));
}

/**
 * An anytime-valid two-sided confidence sequence for a Bernoulli rate: Robbins' beta-binomial
 * mixture. For each candidate rate p, M(p) = ∫ L(q) dBeta(q; a, b) ÷ L(p) — the mixture
 * likelihood over the likelihood at p — is a non-negative martingale with mean 1 when p is the
 * true rate, so by Ville's inequality it exceeds 1/alpha at any time with probability at most
 * alpha. The sequence is every p with M(p) < 1/alpha, an interval around successes ÷ trials.
 * Each one-sided claim (rate below a limit, rate above it) errs with probability at most alpha.
 *
 * @example
 * ```ts
 * const cs = bernoulliConfidenceSequence(12, 4_000, 0.01);
 * cs.upper < 0.01; // true: the rate is below 1% at every look, with 99% confidence
 * ```
 */
export function bernoulliConfidenceSequence(
  successes: number,
  trials: number,
  alpha: number,
  prior: BetaPrior = JEFFREYS_PRIOR,
): ConfidenceBounds {
  checkAlpha(alpha);
  if (!(Number.isFinite(trials) && trials >= 0)) {
    throw UmbraError.invalid("trials", "must be a finite number >= 0");
  }
  if (!(Number.isFinite(successes) && successes >= 0 && successes <= trials)) {
    throw UmbraError.invalid("successes", "must be between 0 and trials");
  }
  if (!(prior.a > 0 && prior.b > 0)) {
    throw UmbraError.invalid("prior", "a and b must be > 0");
  }
  if (trials === 0) return { estimate: null, lower: 0, upper: 1, alpha };
  const problem: MixtureProblem = {
    s: successes,
    f: trials - successes,
    threshold: Math.log(1 / alpha),
    logMixture:
      logBeta(prior.a + successes, prior.b + trials - successes) - logBeta(prior.a, prior.b),
    estimate: successes / trials,
    spread: Math.sqrt((Math.log(1 / alpha) + Math.log(trials + 2)) / trials),
    trials,
  };
  const estimate = problem.estimate;
  const upper = sequenceEnd(problem, 1);
  const lower = sequenceEnd(problem, -1);
  return { estimate, lower, upper, alpha };
}

/** Running sums of a bounded observation (count, sum, sum of squares): mergeable by addition. */
export interface MeanStatistics {
  /** Observations. */
  readonly count: number;
  /** Their sum. */
  readonly sum: number;
  /** The sum of their squares. */
  readonly sumOfSquares: number;
}

/** Options of {@link meanConfidenceSequence}. */
export interface MeanSequenceOptions {
  /** The number of observations at which the sequence is tightest (its mixture is tuned there). */
  readonly optimalCount: number;
  /** The smallest value one observation can take. */
  readonly min: number;
  /** The largest value one observation can take. */
  readonly max: number;
  /**
   * Pseudo-observations at the largest variance the range allows, shrinking the sample
   * variance away from 0 while few observations are in. Default 10.
   */
  readonly priorCount?: number;
}

/** The default {@link MeanSequenceOptions.priorCount}. */
export const DEFAULT_VARIANCE_PRIOR_COUNT = 10;

/**
 * The ρ² that makes the normal-mixture boundary tightest at `optimalCount` observations
 * (Waudby-Smith et al.'s closed-form approximation): (2 ln(1/α) + ln(1 + 2 ln(1/α))) ÷ n*.
 */
export function optimalMixtureRho2(optimalCount: number, alpha: number): number {
  checkAlpha(alpha);
  if (!(optimalCount > 0 && Number.isFinite(optimalCount))) {
    throw UmbraError.invalid("optimalCount", "must be a finite number > 0");
  }
  const l = 2 * Math.log(1 / alpha);
  return (l + Math.log(1 + l)) / optimalCount;
}

/**
 * The half-width, in standard deviations, of the two-sided normal-mixture confidence sequence
 * after `count` observations: √(2(nρ² + 1) ÷ (n²ρ²) · ln(√(nρ² + 1) ÷ α)). It is the boundary
 * where the mixture martingale ∫ exp(λS − λ²V/2) dN(λ; 0, ρ²/σ²) reaches 1/α.
 */
export function normalMixtureMargin(count: number, rho2: number, alpha: number): number {
  checkAlpha(alpha);
  if (count <= 0) return Number.POSITIVE_INFINITY;
  const v = count * rho2 + 1;
  return Math.sqrt(((2 * v) / (count * count * rho2)) * Math.log(Math.sqrt(v) / alpha));
}

/**
 * An asymptotic anytime-valid confidence sequence for a mean (Waudby-Smith, Arbour, Sinha,
 * Kennedy and Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences",
 * Annals of Statistics 2024): mean ± σ̃ · {@link normalMixtureMargin}. It needs only running
 * sums, so aggregates can be merged; its coverage holds as the count grows (a time-uniform
 * central limit theorem), which is why the engine pairs it with minimum sample counts.
 * σ̃² shrinks the sample variance towards the largest variance the range allows
 * (((max − min) ÷ 2)²) with `priorCount` pseudo-observations, so a run of identical values
 * cannot collapse the interval to a point.
 */
export function meanConfidenceSequence(
  statistics: MeanStatistics,
  alpha: number,
  options: MeanSequenceOptions,
): ConfidenceBounds {
  checkAlpha(alpha);
  const { count, sum, sumOfSquares } = statistics;
  const { min, max } = options;
  const priorCount = options.priorCount ?? DEFAULT_VARIANCE_PRIOR_COUNT;
  if (!(Number.isFinite(min) && Number.isFinite(max) && min < max)) {
    throw UmbraError.invalid("min", "must be finite and below max");
  }
  if (!(Number.isFinite(count) && count >= 0)) {
    throw UmbraError.invalid("count", "must be a finite number >= 0");
  }
  if (!(Number.isFinite(sum) && Number.isFinite(sumOfSquares) && sumOfSquares >= 0)) {
    throw UmbraError.invalid("sumOfSquares", "must be finite and >= 0");
  }
  if (!(priorCount >= 0)) throw UmbraError.invalid("priorCount", "must be >= 0");
  if (count === 0) return { estimate: null, lower: min, upper: max, alpha };
  const mean = sum / count;
  const squares = Math.max(0, sumOfSquares - sum * mean);
  const widest = ((max - min) / 2) ** 2;
  const variance = (squares + priorCount * widest) / (count + priorCount);
  const margin =
    Math.sqrt(variance) *
    normalMixtureMargin(count, optimalMixtureRho2(options.optimalCount, alpha), alpha);
  return {
    estimate: mean,
    lower: Math.max(min, mean - margin),
    upper: Math.min(max, mean + margin),
    alpha,
  };
}
