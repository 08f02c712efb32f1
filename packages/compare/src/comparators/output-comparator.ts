import { UmbraError } from "@umbra/protocol";
import { parsePointer } from "../internal/path-pattern.ts";
import { isArrayLike, isRecord } from "../internal/values.ts";
import {
  type Comparator,
  type ComparatorConfig,
  type CustomComparatorFn,
  createComparator,
} from "./comparator.ts";
import { ComparisonReason, type ComparisonResult } from "./comparison-result.ts";

/** The comparison of a whole output: one result per field, combined. */
export interface OutputComparison {
  /** Whether any field is divergent. */
  readonly divergent: boolean;
  /** The lowest graded field similarity; `null` when no field could be graded. */
  readonly similarity: number | null;
  /** Each field's result, by field name. */
  readonly fields: Readonly<Record<string, ComparisonResult>>;
  /** The divergent fields, in declaration order (empty when none). */
  readonly divergentFields: readonly string[];
}

/** Options of {@link createOutputComparator}. */
export interface OutputComparatorOptions {
  /**
   * The comparator of each output field — the experiment spec's `outputs`. A field name is a
   * top-level key of the output (an Open Inference Protocol output tensor name, say); a name
   * starting with `/` is a JSON pointer into the output; `$` is the whole output.
   */
  readonly outputs: Readonly<Record<string, ComparatorConfig>>;
  /** Functions that `{ kind: "custom", name }` comparators refer to. */
  readonly customComparators?: Readonly<Record<string, CustomComparatorFn>>;
}

/** The parts of a pair record an output comparison reads. */
export interface ComparablePair {
  readonly production: { readonly output?: unknown; readonly error?: unknown };
  readonly shadow: { readonly outcome: string; readonly output?: unknown };
}

/** Compares whole outputs field by field. */
export interface OutputComparator {
  /** The compared fields, in declaration order. */
  readonly fields: readonly string[];
  /** Compares a production and a shadow output. Never throws. */
  compare(production: unknown, shadow: unknown): OutputComparison;
  /**
   * Compares the outputs of a pair record, or returns `undefined` when there is nothing to
   * compare: the shadow outcome is not `ok` or production answered with an error.
   */
  comparePair(pair: ComparablePair): OutputComparison | undefined;
}

type Getter = (output: unknown) => unknown;

function getterFor(field: string, at: string): Getter {
  if (field === "$") return (output) => output;
  if (!field.startsWith("/")) return (output) => (isRecord(output) ? output[field] : undefined);
  const segments = parsePointer(field, at);
  return (output) => {
    let v = output;
    for (const s of segments) {
      if (isRecord(v)) v = v[s];
      else if (isArrayLike(v) && /^(0|[1-9][0-9]*)$/.test(s)) v = v[Number(s)];
      else return undefined;
    }
    return v;
  };
}

const BOTH_MISSING: ComparisonResult = { divergent: false, similarity: 1 };
const MISSING_IN_SHADOW: ComparisonResult = {
  divergent: true,
  similarity: 0,
  reason: ComparisonReason.missingInShadow,
};
const MISSING_IN_PRODUCTION: ComparisonResult = {
  divergent: true,
  similarity: 0,
  reason: ComparisonReason.missingInProduction,
};
const NO_FIELDS: readonly string[] = [];

/**
 * Creates the comparator of whole outputs from the experiment spec's `outputs`: each field is
 * read from both outputs and compared by its own comparator; the output is divergent when any
 * field is. A field absent from both outputs is equal; absent from one side it is divergent
 * (`missing_in_shadow` / `missing_in_production`). Bad configs throw an `invalid_argument`
 * UmbraError naming `/outputs/<field>/<option>`.
 *
 * @example
 * ```ts
 * const comparator = createOutputComparator({
 *   outputs: { label: { kind: "label" }, embedding: { kind: "cosine", minSimilarity: 0.95 } },
 * });
 * const result = comparator.compare(
 *   { label: "cat", embedding: [1, 0] },
 *   { label: "cat", embedding: [0.6, 0.8] },
 * );
 * result.divergent; // true: embedding cosine 0.6 < 0.95
 * ```
 */
export function createOutputComparator(options: OutputComparatorOptions): OutputComparator {
  if (!isRecord(options?.outputs)) throw UmbraError.invalid("/outputs", "must be an object");
  const entries = Object.entries(options.outputs);
  if (entries.length === 0) throw UmbraError.invalid("/outputs", "must declare at least one field");
  const fields: string[] = [];
  const getters: Getter[] = [];
  const comparators: Comparator[] = [];
  for (const [field, config] of entries) {
    const at = `/outputs/${field.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    fields.push(field);
    getters.push(getterFor(field, at));
    comparators.push(
      createComparator(config, {
        path: at,
        ...(options.customComparators === undefined
          ? {}
          : { customComparators: options.customComparators }),
      }),
    );
  }

  function compare(production: unknown, shadow: unknown): OutputComparison {
    const results: Record<string, ComparisonResult> = {};
    let divergentFields: string[] | undefined;
    let similarity: number | null = null;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as string;
      const getter = getters[i] as Getter;
      const p = getter(production);
      const s = getter(shadow);
      let r: ComparisonResult;
      if (p === undefined || s === undefined) {
        r = p === s ? BOTH_MISSING : p === undefined ? MISSING_IN_PRODUCTION : MISSING_IN_SHADOW;
      } else {
        r = (comparators[i] as Comparator).compare(p, s);
      }
      results[field] = r;
      if (r.divergent) {
        divergentFields ??= [];
        divergentFields.push(field);
      }
      if (r.similarity !== null && (similarity === null || r.similarity < similarity)) {
        similarity = r.similarity;
      }
    }
    return {
      divergent: divergentFields !== undefined,
      similarity,
      fields: results,
      divergentFields: divergentFields ?? NO_FIELDS,
    };
  }

  return {
    fields,
    compare,
    comparePair(pair) {
      if (pair.shadow.outcome !== "ok" || pair.production.error !== undefined) return undefined;
      return compare(pair.production.output, pair.shadow.output);
    },
  };
}
