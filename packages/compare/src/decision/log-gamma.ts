import { UmbraError } from "@umbra/protocol";

// Lanczos approximation with g = 7 and nine coefficients (the set popularised by Numerical
// Recipes and Godfrey): about 15 significant digits for x > 0, which is what the confidence
// sequences need — their log-likelihood ratios are differences of terms of size n·ln n, so the
// absolute error stays far below the ln(1/alpha) they are compared with.
const G = 7;
const COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The natural logarithm of the gamma function, ln Γ(x), for x > 0 (Lanczos, g = 7, about 15
 * significant digits).
 *
 * @example
 * ```ts
 * logGamma(5); // ln 24 = 3.1780538303479458
 * ```
 */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw UmbraError.invalid("x", "must be a finite number > 0");
  if (x < 0.5) {
    // Reflection keeps the series in its accurate range: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = COEFFICIENTS[0] as number;
  for (let i = 1; i < COEFFICIENTS.length; i++) sum += (COEFFICIENTS[i] as number) / (z + i);
  const t = z + G + 0.5;
  return HALF_LOG_TWO_PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The natural logarithm of the beta function, ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}
