import type { PairRecord } from "@umbra/protocol";
import type { ComparisonResult } from "../comparators/comparison-result.ts";

/** A value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** One difference inside a divergent example: the field, the path in it and both values. */
export interface ExampleDiff {
  readonly field: string;
  readonly path: string;
  readonly production: JsonValue;
  readonly shadow: JsonValue;
}

/**
 * A divergent pair kept for manual review and fine-tuning export: the request, both outputs
 * and why they diverged, as JSON-safe data (typed arrays become number arrays, bigints strings,
 * non-finite numbers null, Dates ISO strings; deep or huge values are cut and `truncated` set).
 */
export interface DivergentExample {
  readonly requestId: string;
  readonly variant: string;
  readonly requestTimestampMs: number;
  readonly segment: Readonly<Record<string, string>>;
  readonly features?: Readonly<Record<string, number | string | boolean>>;
  /** The input when the record captured it in full. */
  readonly input?: JsonValue;
  /** The input's sha256 when the record captured only that. */
  readonly inputSha256?: string;
  readonly production: JsonValue;
  readonly shadow: JsonValue;
  /** The pair's combined similarity. */
  readonly similarity: number | null;
  /** The divergent fields and each one's reason code. */
  readonly divergentFields: Readonly<Record<string, string>>;
  /** The first field-level differences. */
  readonly diff: readonly ExampleDiff[];
  /** Whether any value was cut to fit the example limits. */
  readonly truncated: boolean;
}

/** The comparison an aggregate takes with each pair. An `OutputComparison` is one. */
export interface PairComparison {
  /** Whether the pair is divergent. */
  readonly divergent: boolean;
  /** The graded similarity in [0, 1], `null` when ungraded. */
  readonly similarity: number | null;
  /** Per-field results, when the comparison was made field by field. */
  readonly fields?: Readonly<Record<string, ComparisonResult>>;
}

const MAX_DEPTH = 16;
const MAX_ARRAY_ITEMS = 4096;
const MAX_STRING_LENGTH = 16_384;
const MAX_KEYS = 256;
const MAX_DIFFS = 16;

class JsonSafe {
  truncated = false;

  convert(v: unknown, depth: number): JsonValue {
    switch (typeof v) {
      case "string":
        if (v.length <= MAX_STRING_LENGTH) return v;
        this.truncated = true;
        return v.slice(0, MAX_STRING_LENGTH);
      case "number":
        return Number.isFinite(v) ? v : null;
      case "boolean":
        return v;
      case "bigint":
        return v.toString();
      case "object":
        break;
      default:
        return null;
    }
    if (v === null) return null;
    if (depth >= MAX_DEPTH) {
      this.truncated = true;
      return null;
    }
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      const a = v as ArrayLike<unknown>;
      const n = Math.min(a.length, MAX_ARRAY_ITEMS);
      if (n < a.length) this.truncated = true;
      const out: JsonValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.convert(a[i], depth + 1);
      return out;
    }
    const out: { [key: string]: JsonValue } = {};
    let keys = 0;
    for (const key in v as Record<string, unknown>) {
      const x = (v as Record<string, unknown>)[key];
      if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
      if (++keys > MAX_KEYS) {
        this.truncated = true;
        break;
      }
      out[key] = this.convert(x, depth + 1);
    }
    return out;
  }
}

/** A JSON-safe copy of any value, cut to the example limits (depth 16, 4096 items, 16 KiB strings). */
export function toJsonSafe(value: unknown): JsonValue {
  return new JsonSafe().convert(value, 0);
}

/** Builds the stored example of a divergent pair. */
export function buildDivergentExample(
  pair: PairRecord,
  comparison: PairComparison,
): DivergentExample {
  const safe = new JsonSafe();
  const divergentFields: Record<string, string> = {};
  const diff: ExampleDiff[] = [];
  const fields = comparison.fields;
  if (fields !== undefined) {
    for (const field in fields) {
      const r = fields[field];
      if (r === undefined || !r.divergent) continue;
      divergentFields[field] = r.reason ?? "divergent";
      for (const d of r.diff ?? []) {
        if (diff.length >= MAX_DIFFS) break;
        diff.push({
          field,
          path: d.path,
          production: safe.convert(d.production, 1),
          shadow: safe.convert(d.shadow, 1),
        });
      }
    }
  }
  const example: {
    -readonly [K in keyof DivergentExample]: DivergentExample[K];
  } = {
    requestId: pair.requestId,
    variant: pair.variant,
    requestTimestampMs: pair.requestTimestampMs,
    segment: { ...pair.segment },
    production: safe.convert(pair.production.output, 0),
    shadow: safe.convert(pair.shadow.output, 0),
    similarity: comparison.similarity,
    divergentFields,
    diff,
    truncated: false,
  };
  if (pair.features !== undefined) example.features = { ...pair.features };
  if (pair.input.capture === "full" && pair.input.value !== undefined) {
    example.input = safe.convert(pair.input.value, 0);
  }
  if (pair.input.sha256 !== undefined) example.inputSha256 = pair.input.sha256;
  example.truncated = safe.truncated;
  return example;
}
