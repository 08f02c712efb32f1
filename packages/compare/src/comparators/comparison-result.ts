/**
 * One difference between the production and the shadow value: where it is (a JSON pointer
 * into the compared value, `""` for the value itself) and what each side had there. A side
 * that lacks the path has `undefined`.
 */
export interface FieldDiff {
  /** JSON pointer of the differing node, e.g. `/items/3/score`. */
  readonly path: string;
  /** The production value at `path`. */
  readonly production: unknown;
  /** The shadow value at `path`. */
  readonly shadow: unknown;
}

/**
 * The uniform result every comparator returns.
 *
 * `similarity` is a grade in [0, 1] (1 = identical) when the comparator can grade, and `null`
 * when it cannot (zero vectors, length mismatch, …). `reason` is a stable code from
 * {@link ComparisonReason} saying why the pair is divergent or could not be graded.
 */
export interface ComparisonResult {
  /** Whether this pair counts as a divergence under the comparator's threshold. */
  readonly divergent: boolean;
  /** 0..1 when graded, `null` when no grade is defined for these values. */
  readonly similarity: number | null;
  /** The comparator's raw measure when it differs from `similarity` (cosine in [-1, 1]). */
  readonly score?: number;
  /** The first differences found, at most the comparator's `maxDiffs`. */
  readonly diff?: readonly FieldDiff[];
  /** How many differences there were in total (`diff` may be cut short). */
  readonly diffCount?: number;
  /** A stable code; see {@link ComparisonReason}. */
  readonly reason?: ComparisonReason;
}

/** The stable reason codes a {@link ComparisonResult} can carry. */
export const ComparisonReason = {
  /** The graded similarity is below the comparator's threshold. */
  belowThreshold: "below_threshold",
  /** Structured values differ (see `diff`). */
  valuesDiffer: "values_differ",
  /** At least one number is outside the tolerance (see `diff`). */
  outOfTolerance: "out_of_tolerance",
  /** Arrays or vectors of different lengths. */
  lengthMismatch: "length_mismatch",
  /** A vector whose norm is zero: cosine is undefined. */
  zeroVector: "zero_vector",
  /** NaN or ±Infinity where a finite number was needed. */
  nonFinite: "non_finite",
  /** A value that is not a vector of numbers. */
  notAVector: "not_a_vector",
  /** A value that is not a number (or array of numbers). */
  notNumeric: "not_numeric",
  /** A value that is not a string. */
  notText: "not_text",
  /** A value from which no label could be read. */
  noLabel: "no_label",
  /** The top labels differ. */
  labelMismatch: "label_mismatch",
  /** The top labels agree but the top-k overlap is below `minOverlap`. */
  topKOverlapBelow: "top_k_overlap_below",
  /** The field is in the production output only. */
  missingInShadow: "missing_in_shadow",
  /** The field is in the shadow output only. */
  missingInProduction: "missing_in_production",
  /** A custom comparator threw or returned something that is not a result. */
  comparatorError: "comparator_error",
} as const;

/** One of the {@link ComparisonReason} values. */
export type ComparisonReason = (typeof ComparisonReason)[keyof typeof ComparisonReason];
