import { isArrayLike } from "../internal/values.ts";
import { ComparisonReason, type ComparisonResult } from "./comparison-result.ts";

/** What {@link cosineSimilarity} found: the cosine, or why there is none. */
export type CosineOutcome =
  | { readonly cosine: number; readonly reason?: undefined }
  | {
      readonly cosine: null;
      readonly reason:
        | typeof ComparisonReason.lengthMismatch
        | typeof ComparisonReason.zeroVector
        | typeof ComparisonReason.nonFinite
        | typeof ComparisonReason.notAVector;
      /** For `zero_vector`: whether both vectors are zero (both sides did the same thing). */
      readonly bothZero?: boolean;
    };

/** Default `minSimilarity` of the cosine comparator. */
export const DEFAULT_MIN_COSINE = 0.95;

function isNumberVector(v: unknown): v is ArrayLike<number> {
  if (!isArrayLike(v)) return false;
  if (!Array.isArray(v)) return !(v instanceof BigInt64Array || v instanceof BigUint64Array);
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "number") return false;
  return true;
}

/**
 * The cosine of the angle between two vectors (number[] or any numeric typed array), in
 * [-1, 1]. Never throws: vectors of different lengths, containing NaN or ±Infinity, of zero norm
 * (including empty ones) or that are not vectors give `cosine: null` and a reason.
 */
export function cosineSimilarity(a: unknown, b: unknown): CosineOutcome {
  if (!isNumberVector(a) || !isNumberVector(b)) {
    return { cosine: null, reason: ComparisonReason.notAVector };
  }
  if (a.length !== b.length) return { cosine: null, reason: ComparisonReason.lengthMismatch };
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (
    !Number.isFinite(dot) ||
    !Number.isFinite(na) ||
    !Number.isFinite(nb) ||
    na === 0 ||
    nb === 0
  ) {
    return rescaled(a, b);
  }
  return finish(dot, na, nb);
}

function finish(dot: number, na: number, nb: number): CosineOutcome {
  const c = dot / (Math.sqrt(na) * Math.sqrt(nb));
  // Rounding can push |c| a hair past 1 for parallel vectors.
  return { cosine: c > 1 ? 1 : Math.max(c, -1) };
}

// Sums of squares overflow above ~1e154 and underflow below ~1e-162; cosine is scale-invariant,
// so divide by the largest magnitude and try again. Only NaN/Infinity or a true zero fails.
function rescaled(a: ArrayLike<number>, b: ArrayLike<number>): CosineOutcome {
  let maxA = 0;
  let maxB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      return { cosine: null, reason: ComparisonReason.nonFinite };
    }
    maxA = Math.max(maxA, Math.abs(x));
    maxB = Math.max(maxB, Math.abs(y));
  }
  if (maxA === 0 || maxB === 0) {
    return {
      cosine: null,
      reason: ComparisonReason.zeroVector,
      bothZero: maxA === 0 && maxB === 0,
    };
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) / maxA;
    const y = (b[i] as number) / maxB;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return finish(dot, na, nb);
}

/**
 * Compares two embeddings by cosine. Divergent when the cosine is below `minSimilarity`
 * (default {@link DEFAULT_MIN_COSINE}). `similarity` is the cosine clamped to [0, 1] (opposite
 * directions grade as 0) and `score` the raw cosine. When no cosine exists the result is
 * `{ similarity: null, divergent: true, reason }` — except two zero vectors, which are the
 * same answer from both sides: `{ similarity: null, divergent: false, reason: "zero_vector" }`.
 */
export function compareCosine(
  production: unknown,
  shadow: unknown,
  minSimilarity: number = DEFAULT_MIN_COSINE,
): ComparisonResult {
  const outcome = cosineSimilarity(production, shadow);
  if (outcome.cosine === null) {
    return {
      divergent: outcome.bothZero !== true,
      similarity: null,
      reason: outcome.reason,
    };
  }
  const c = outcome.cosine;
  const divergent = c < minSimilarity;
  const similarity = Math.max(c, 0);
  return divergent
    ? { divergent, similarity, score: c, reason: ComparisonReason.belowThreshold }
    : { divergent, similarity, score: c };
}
