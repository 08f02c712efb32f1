import { UmbraError } from "@umbra/protocol";
import { compilePathPatterns } from "../internal/path-pattern.ts";
import { ComparisonReason, type ComparisonResult } from "./comparison-result.ts";
import { compareCosine, DEFAULT_MIN_COSINE } from "./cosine.ts";
import { compareLabels } from "./label.ts";
import { compareNumeric, DEFAULT_REL_TOLERANCE } from "./numeric.ts";
import { compareRougeL, DEFAULT_MIN_ROUGE_L, DEFAULT_ROUGE_MAX_TOKENS } from "./rouge-l.ts";
import { diffValues } from "./structured-diff.ts";

/**
 * How one output field is compared. The shapes are those of `ComparatorSpec` in the
 * experiment spec of `@umbra/protocol` (the same `kind`s and option names), plus a few
 * runtime-only options (`maxDiffs`, `maxTokens`, `minOverlap`, structured `minSimilarity`).
 */
export type ComparatorConfig =
  | {
      /** Deep equality; `similarity` is 1 or 0. */
      readonly kind: "exact";
      /** JSON-pointer-like paths left out of the comparison; `*` matches any one item or key. */
      readonly ignorePaths?: readonly string[];
      /** How many differences to list in `diff`. Default 16. */
      readonly maxDiffs?: number;
    }
  | {
      /** Deep comparison graded by the share of equal leaves. */
      readonly kind: "structured";
      /** JSON-pointer-like paths left out of the comparison; `*` matches any one item or key. */
      readonly ignorePaths?: readonly string[];
      /** How many differences to list in `diff`. Default 16. */
      readonly maxDiffs?: number;
      /** Divergent below this share of equal leaves. Default 1: any difference diverges. */
      readonly minSimilarity?: number;
    }
  | {
      /** Numbers within `absTolerance + relTolerance * max(|a|, |b|)`, element-wise for arrays. */
      readonly kind: "numeric";
      /** Default 0. */
      readonly absTolerance?: number;
      /** Default 1e-9. */
      readonly relTolerance?: number;
      /** How many out-of-tolerance elements to list in `diff`. Default 16. */
      readonly maxDiffs?: number;
    }
  | {
      /** Cosine similarity of embeddings. */
      readonly kind: "cosine";
      /** Divergent below this cosine, in [-1, 1]. Default 0.95. */
      readonly minSimilarity?: number;
    }
  | {
      /** ROUGE-L F-measure of texts. */
      readonly kind: "rougeL";
      /** Divergent below this F-measure, in [0, 1]. Default 0.85. */
      readonly minScore?: number;
      /** Tokens compared per text. Default 1000. */
      readonly maxTokens?: number;
    }
  | {
      /** Top-label agreement of classifier outputs. */
      readonly kind: "label";
      /** Grade by the overlap of the top `topK` labels (1..100). */
      readonly topK?: number;
      /** With `topK`: divergent when the overlap is below this fraction. */
      readonly minOverlap?: number;
    }
  | {
      /** A function registered under `name` in `customComparators`. */
      readonly kind: "custom";
      /** The key of the function in `customComparators`. */
      readonly name: string;
    };

/** One of the comparator kinds. */
export type ComparatorKind = ComparatorConfig["kind"];

/** A user-supplied comparison. It may throw: the comparator turns that into `comparator_error`. */
export type CustomComparatorFn = (production: unknown, shadow: unknown) => ComparisonResult;

/** A ready comparator for one field. */
export interface Comparator {
  /** The kind it was created from. */
  readonly kind: ComparatorKind;
  /** Compares the production and the shadow value of the field. Never throws. */
  compare(production: unknown, shadow: unknown): ComparisonResult;
}

/** Options of {@link createComparator}. */
export interface CreateComparatorOptions {
  /** Functions that `{ kind: "custom", name }` configs refer to. */
  readonly customComparators?: Readonly<Record<string, CustomComparatorFn>>;
  /** JSON pointer of the config, used in error messages. Default `""`. */
  readonly path?: string;
}

const MAX_DEPTH = 64;

function checkNumber(
  value: unknown,
  field: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw UmbraError.invalid(
      field,
      `must be ${integer ? "an integer" : "a number"} in [${min}, ${max}]`,
    );
  }
  return value;
}

function checkPaths(value: unknown, field: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 64) {
    throw UmbraError.invalid(field, "must be an array of at most 64 paths");
  }
  value.forEach((p, i) => {
    if (typeof p !== "string" || p.length === 0 || p.length > 256) {
      throw UmbraError.invalid(`${field}/${i}`, "must be a path of 1 to 256 characters");
    }
  });
  return value as string[];
}

function isResult(v: unknown): v is ComparisonResult {
  if (typeof v !== "object" || v === null) return false;
  const r = v as { divergent?: unknown; similarity?: unknown };
  return (
    typeof r.divergent === "boolean" &&
    (r.similarity === null ||
      (typeof r.similarity === "number" && r.similarity >= 0 && r.similarity <= 1))
  );
}

/**
 * Creates the comparator a config describes, checking the config once: a bad option throws an
 * `invalid_argument` UmbraError naming its JSON pointer (under `options.path`) and the rule.
 *
 * @example
 * ```ts
 * const cosine = createComparator({ kind: "cosine", minSimilarity: 0.98 });
 * cosine.compare([1, 0], [0.99, 0.1]); // { divergent: false, similarity: 0.995…, score: 0.995… }
 * ```
 */
export function createComparator(
  config: ComparatorConfig,
  options: CreateComparatorOptions = {},
): Comparator {
  const at = options.path ?? "";
  if (typeof config !== "object" || config === null) {
    throw UmbraError.invalid(at || "/", "must be a comparator config object");
  }
  const c = config as Record<string, unknown>;
  const maxDiffs = () => checkNumber(c.maxDiffs, `${at}/maxDiffs`, 0, 10_000, true) ?? 16;
  switch (config.kind) {
    case "exact":
    case "structured": {
      const ignore = compilePathPatterns(
        checkPaths(c.ignorePaths, `${at}/ignorePaths`),
        `${at}/ignorePaths`,
      );
      const max = maxDiffs();
      const diffOptions = { ignore, maxDiffs: max, maxDepth: MAX_DEPTH };
      if (config.kind === "exact") {
        return {
          kind: "exact",
          compare(production, shadow) {
            const d = diffValues(production, shadow, diffOptions);
            if (d.diffCount === 0) return { divergent: false, similarity: 1 };
            return {
              divergent: true,
              similarity: 0,
              diff: d.diffs,
              diffCount: d.diffCount,
              reason: ComparisonReason.valuesDiffer,
            };
          },
        };
      }
      const minSimilarity = checkNumber(c.minSimilarity, `${at}/minSimilarity`, 0, 1) ?? 1;
      return {
        kind: "structured",
        compare(production, shadow) {
          const d = diffValues(production, shadow, diffOptions);
          const similarity = d.leaves === 0 ? 1 : d.equalLeaves / d.leaves;
          if (d.diffCount === 0) return { divergent: false, similarity };
          const divergent = similarity < minSimilarity;
          return divergent
            ? {
                divergent,
                similarity,
                diff: d.diffs,
                diffCount: d.diffCount,
                reason: ComparisonReason.valuesDiffer,
              }
            : { divergent, similarity, diff: d.diffs, diffCount: d.diffCount };
        },
      };
    }
    case "numeric": {
      const numeric = {
        absTolerance: checkNumber(c.absTolerance, `${at}/absTolerance`, 0, Number.MAX_VALUE) ?? 0,
        relTolerance:
          checkNumber(c.relTolerance, `${at}/relTolerance`, 0, Number.MAX_VALUE) ??
          DEFAULT_REL_TOLERANCE,
        maxDiffs: maxDiffs(),
      };
      return { kind: "numeric", compare: (p, s) => compareNumeric(p, s, numeric) };
    }
    case "cosine": {
      const min = checkNumber(c.minSimilarity, `${at}/minSimilarity`, -1, 1) ?? DEFAULT_MIN_COSINE;
      return { kind: "cosine", compare: (p, s) => compareCosine(p, s, min) };
    }
    case "rougeL": {
      const min = checkNumber(c.minScore, `${at}/minScore`, 0, 1) ?? DEFAULT_MIN_ROUGE_L;
      const rouge = {
        maxTokens:
          checkNumber(c.maxTokens, `${at}/maxTokens`, 1, 100_000, true) ?? DEFAULT_ROUGE_MAX_TOKENS,
      };
      return { kind: "rougeL", compare: (p, s) => compareRougeL(p, s, min, rouge) };
    }
    case "label": {
      const topK = checkNumber(c.topK, `${at}/topK`, 1, 100, true);
      const minOverlap = checkNumber(c.minOverlap, `${at}/minOverlap`, 0, 1);
      if (minOverlap !== undefined && topK === undefined) {
        throw UmbraError.invalid(`${at}/minOverlap`, "needs topK");
      }
      const label = {
        ...(topK === undefined ? {} : { topK }),
        ...(minOverlap === undefined ? {} : { minOverlap }),
      };
      return { kind: "label", compare: (p, s) => compareLabels(p, s, label) };
    }
    case "custom": {
      const name = c.name;
      const fn = typeof name === "string" ? options.customComparators?.[name] : undefined;
      if (typeof fn !== "function") {
        throw UmbraError.invalid(
          `${at}/name`,
          `must name a function in customComparators (${Object.keys(options.customComparators ?? {}).join(", ") || "none registered"})`,
        );
      }
      return {
        kind: "custom",
        compare(production, shadow) {
          // A user function must not take the collector down with it: a throw or a malformed
          // result is a divergence with a reason, counted like any other.
          try {
            const r = fn(production, shadow);
            if (isResult(r)) return r;
          } catch {
            // fall through
          }
          return { divergent: true, similarity: null, reason: ComparisonReason.comparatorError };
        },
      };
    }
    default:
      throw UmbraError.invalid(
        `${at}/kind`,
        "must be one of exact, structured, numeric, cosine, rougeL, label, custom",
      );
  }
}
