import { UmbraError } from "@umbra/protocol";
import { normalQuantile } from "./normal-quantile.ts";

/** A proportion with a confidence interval. */
export interface RateInterval {
  /** successes ÷ trials; `null` when there are no trials. */
  readonly estimate: number | null;
  /** Lower end of the interval, in [0, 1]. */
  readonly lower: number;
  /** Upper end of the interval, in [0, 1]. */
  readonly upper: number;
  /** The confidence level, e.g. 0.95. */
  readonly confidence: number;
}

function check(successes: number, trials: number, confidence: number): void {
  if (!Number.isFinite(trials) || trials < 0) {
    throw UmbraError.invalid("trials", "must be a finite number >= 0");
  }
  if (!Number.isFinite(successes) || successes < 0 || successes > trials) {
    throw UmbraError.invalid("successes", "must be between 0 and trials");
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw UmbraError.invalid("confidence", "must be strictly between 0 and 1");
  }
}

function wilson(successes: number, trials: number, z: number): [number, number] {
  if (trials === 0) return [0, 1];
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const center = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  // At 0 or n successes the matching end is exactly 0 or 1; say so instead of 1e-17.
  const lower = successes === 0 ? 0 : Math.max(0, center - half);
  const upper = successes === trials ? 1 : Math.min(1, center + half);
  return [lower, upper];
}

/**
 * The two-sided Wilson score interval of a proportion at `confidence` (default 0.95). With no
 * trials the interval is [0, 1] and the estimate `null`.
 *
 * @example
 * ```ts
 * wilsonInterval(5, 10); // { estimate: 0.5, lower: 0.2366…, upper: 0.7633…, confidence: 0.95 }
 * ```
 */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): RateInterval {
  check(successes, trials, confidence);
  const [lower, upper] = wilson(successes, trials, normalQuantile(1 - (1 - confidence) / 2));
  return { estimate: trials === 0 ? null : successes / trials, lower, upper, confidence };
}

/**
 * A one-sided Wilson score bound at `confidence`: the `upper` bound u with P(rate <= u) ≈
 * confidence, or the `lower` one. A one-sided 95% bound equals an end of the two-sided 90%
 * interval. With no trials the upper bound is 1 and the lower 0.
 */
export function wilsonBound(
  successes: number,
  trials: number,
  side: "upper" | "lower",
  confidence = 0.95,
): number {
  check(successes, trials, confidence);
  const [lower, upper] = wilson(successes, trials, normalQuantile(confidence));
  return side === "upper" ? upper : lower;
}

/** A difference of two proportions with its confidence interval. */
export interface DifferenceInterval {
  /** p1 − p2; `null` when either side has no trials. */
  readonly estimate: number | null;
  /** Lower end, in [-1, 1]. */
  readonly lower: number;
  /** Upper end, in [-1, 1]. */
  readonly upper: number;
  /** The confidence level. */
  readonly confidence: number;
}

/**
 * The interval of p1 − p2 for two independent proportions by Newcombe's hybrid score method
 * (method 10 of Newcombe 1998, "Interval estimation for the difference between independent
 * proportions"), built from each side's Wilson interval. Used to set a candidate's divergence
 * against the control's noise floor.
 */
export function rateDifferenceInterval(
  successes1: number,
  trials1: number,
  successes2: number,
  trials2: number,
  confidence = 0.95,
): DifferenceInterval {
  const a = wilsonInterval(successes1, trials1, confidence);
  const b = wilsonInterval(successes2, trials2, confidence);
  if (a.estimate === null || b.estimate === null) {
    return { estimate: null, lower: -1, upper: 1, confidence };
  }
  const d = a.estimate - b.estimate;
  const lower = d - Math.sqrt((a.estimate - a.lower) ** 2 + (b.upper - b.estimate) ** 2);
  const upper = d + Math.sqrt((a.upper - a.estimate) ** 2 + (b.estimate - b.lower) ** 2);
  return { estimate: d, lower: Math.max(-1, lower), upper: Math.min(1, upper), confidence };
}
