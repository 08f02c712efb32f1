import { isArrayLike, isRecord } from "../internal/values.ts";
import { ComparisonReason, type ComparisonResult } from "./comparison-result.ts";

/** A class label: a string, number or boolean. */
export type Label = string | number | boolean;

/** Options of {@link compareLabels}. */
export interface LabelOptions {
  /** Also grade the overlap of the top `topK` labels (1..100). */
  readonly topK?: number;
  /** With `topK`: divergent also when the top-k overlap is below this fraction. */
  readonly minOverlap?: number;
}

function isLabel(v: unknown): v is Label {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function scoreOf(v: Record<string, unknown>): number | undefined {
  const s = v.score ?? v.probability ?? v.confidence;
  return typeof s === "number" && !Number.isNaN(s) ? s : undefined;
}

/** Indices of the `k` largest scores, best first; ties keep the lower index first. */
function topIndices(scores: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (Number.isNaN(s)) continue;
    let at = top.length;
    while (at > 0 && (scores[top[at - 1] as number] as number) < s) at--;
    if (at < k) {
      top.splice(at, 0, i);
      if (top.length > k) top.pop();
    }
  }
  return top;
}

/**
 * Reads the ranked labels (best first, at most `k`) of a classifier output:
 * - a label (string, number, boolean) → itself;
 * - `{ label }` (optionally with `score`) → its label;
 * - an array of labels → that ranking, in order;
 * - an array of `{ label, score | probability | confidence }` → sorted by score, best first;
 * - a numeric array or typed array → a score vector: class indices by descending score.
 * Anything else gives `undefined`.
 */
export function rankedLabels(output: unknown, k: number): Label[] | undefined {
  if (isLabel(output)) return [output];
  if (isRecord(output)) return isLabel(output.label) ? [output.label] : undefined;
  if (!isArrayLike(output)) return undefined;
  if (output.length === 0) return undefined;
  const first = output[0];
  if (typeof first === "number" || ArrayBuffer.isView(output)) {
    for (let i = 0; i < output.length; i++) if (typeof output[i] !== "number") return undefined;
    return topIndices(output as ArrayLike<number>, k);
  }
  if (isLabel(first)) {
    const out: Label[] = [];
    for (let i = 0; i < output.length && out.length < k; i++) {
      const v = output[i];
      if (!isLabel(v)) return undefined;
      out.push(v);
    }
    return out;
  }
  const scored: { label: Label; score: number; at: number }[] = [];
  for (let i = 0; i < output.length; i++) {
    const v = output[i];
    if (!isRecord(v) || !isLabel(v.label)) return undefined;
    scored.push({ label: v.label, score: scoreOf(v) ?? Number.NEGATIVE_INFINITY, at: i });
  }
  scored.sort((x, y) => y.score - x.score || x.at - y.at);
  return scored.slice(0, k).map((s) => s.label);
}

/**
 * Compares classifier outputs: divergent when the top labels differ (`similarity` 1 or 0).
 * With `topK`, `similarity` is the top-k overlap |A ∩ B| ÷ max(|A|, |B|) of the top-k lists
 * and, with `minOverlap`, an overlap below it is divergent too. An output with no readable
 * label gives `{ similarity: null, divergent: true, reason: "no_label" }`.
 */
export function compareLabels(
  production: unknown,
  shadow: unknown,
  options: LabelOptions = {},
): ComparisonResult {
  const k = options.topK ?? 1;
  const a = rankedLabels(production, k);
  const b = rankedLabels(shadow, k);
  if (a === undefined || b === undefined || a.length === 0 || b.length === 0) {
    return { divergent: true, similarity: null, reason: ComparisonReason.noLabel };
  }
  const topAgrees = a[0] === b[0];
  if (k === 1) {
    return topAgrees
      ? { divergent: false, similarity: 1 }
      : { divergent: true, similarity: 0, reason: ComparisonReason.labelMismatch };
  }
  let shared = 0;
  for (const label of a) if (b.includes(label)) shared++;
  const overlap = shared / Math.max(a.length, b.length);
  if (!topAgrees) {
    return { divergent: true, similarity: overlap, reason: ComparisonReason.labelMismatch };
  }
  if (options.minOverlap !== undefined && overlap < options.minOverlap) {
    return { divergent: true, similarity: overlap, reason: ComparisonReason.topKOverlapBelow };
  }
  return { divergent: false, similarity: overlap };
}
