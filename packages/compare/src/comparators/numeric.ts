import { pointerSegment } from "../internal/json-read.ts";
import { isArrayLike } from "../internal/values.ts";
import { ComparisonReason, type ComparisonResult, type FieldDiff } from "./comparison-result.ts";

/** Options of {@link compareNumeric}. */
export interface NumericOptions {
  /** Absolute tolerance, >= 0. Default 0. */
  readonly absTolerance?: number;
  /** Relative tolerance, >= 0. Default 1e-9 (Python's `math.isclose`). */
  readonly relTolerance?: number;
  /** How many out-of-tolerance elements to list in `diff`. Default 16. */
  readonly maxDiffs?: number;
}

/** Default relative tolerance of the numeric comparator (the same as Python's `math.isclose`). */
export const DEFAULT_REL_TOLERANCE = 1e-9;

/**
 * Whether two numbers are equal within tolerance: `|a - b| <= abs + rel * max(|a|, |b|)`.
 * Equal values (including equal infinities) and NaN against NaN are close; a non-finite value
 * against anything else is not.
 */
export function isClose(a: number, b: number, absTolerance: number, relTolerance: number): boolean {
  if (a === b) return true;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= absTolerance + relTolerance * Math.max(Math.abs(a), Math.abs(b));
}

type Shape = "ok" | typeof ComparisonReason.lengthMismatch | typeof ComparisonReason.notNumeric;

class NumericWalk {
  total = 0;
  outside = 0;
  readonly diffs: FieldDiff[] = [];
  readonly #path: number[] = [];
  readonly #abs: number;
  readonly #rel: number;
  readonly #maxDiffs: number;

  constructor(abs: number, rel: number, maxDiffs: number) {
    this.#abs = abs;
    this.#rel = rel;
    this.#maxDiffs = maxDiffs;
  }

  walk(a: unknown, b: unknown): Shape {
    const x = typeof a === "bigint" ? Number(a) : a;
    const y = typeof b === "bigint" ? Number(b) : b;
    if (typeof x === "number" && typeof y === "number") {
      this.total++;
      if (!isClose(x, y, this.#abs, this.#rel)) this.#outside(a, b);
      return "ok";
    }
    if (!isArrayLike(a) || !isArrayLike(b)) return ComparisonReason.notNumeric;
    if (a.length !== b.length) return ComparisonReason.lengthMismatch;
    // Nested arrays stop at 32 levels: nothing numeric is that deep, and the bound keeps
    // hostile input from exhausting the stack.
    if (this.#path.length >= 32) return ComparisonReason.notNumeric;
    for (let i = 0; i < a.length; i++) {
      this.#path.push(i);
      const shape = this.walk(a[i], b[i]);
      this.#path.pop();
      if (shape !== "ok") return shape;
    }
    return "ok";
  }

  #outside(production: unknown, shadow: unknown): void {
    this.outside++;
    if (this.diffs.length < this.#maxDiffs) {
      let path = "";
      for (const i of this.#path) path += `/${pointerSegment(i)}`;
      this.diffs.push({ path, production, shadow });
    }
  }
}

/**
 * Compares numbers, or arrays / typed arrays (possibly nested) of numbers element by element,
 * within an absolute and a relative tolerance. Divergent when any element is outside the
 * tolerance; `similarity` is the share of elements within it. Different lengths or a
 * non-numeric element give `similarity: null` with reason `length_mismatch` / `not_numeric`.
 */
export function compareNumeric(
  production: unknown,
  shadow: unknown,
  options: NumericOptions = {},
): ComparisonResult {
  const walk = new NumericWalk(
    options.absTolerance ?? 0,
    options.relTolerance ?? DEFAULT_REL_TOLERANCE,
    options.maxDiffs ?? 16,
  );
  const shape = walk.walk(production, shadow);
  if (shape !== "ok") return { divergent: true, similarity: null, reason: shape };
  if (walk.outside === 0) return { divergent: false, similarity: 1 };
  return {
    divergent: true,
    similarity: (walk.total - walk.outside) / walk.total,
    diff: walk.diffs,
    diffCount: walk.outside,
    reason: ComparisonReason.outOfTolerance,
  };
}
