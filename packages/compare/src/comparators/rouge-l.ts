import { ComparisonReason, type ComparisonResult } from "./comparison-result.ts";

/** ROUGE-L precision, recall and F-measure of a candidate text against a reference. */
export interface RougeLScore {
  /** LCS length ÷ candidate tokens. */
  readonly precision: number;
  /** LCS length ÷ reference tokens. */
  readonly recall: number;
  /** Harmonic mean of precision and recall (β = 1), as Google's `rouge-score` reports it. */
  readonly fmeasure: number;
  /** Length of the longest common subsequence of tokens. */
  readonly lcs: number;
}

/** Options of {@link rougeL}. */
export interface RougeLOptions {
  /** Only the first `maxTokens` tokens of each text are compared (LCS is O(m·n)). Default 1000. */
  readonly maxTokens?: number;
}

/** Default `minScore` of the ROUGE-L comparator. */
export const DEFAULT_MIN_ROUGE_L = 0.85;
/** Default token cap of ROUGE-L. */
export const DEFAULT_ROUGE_MAX_TOKENS = 1000;

const TOKEN = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * Splits text into ROUGE tokens: lowercased (`String#toLowerCase`), then every maximal run of
 * Unicode letters, combining marks and digits is a token; everything else separates tokens.
 * No stemming, no stop words, no Unicode normalization. For ASCII text this equals Google
 * `rouge-score`'s default tokenizer without its stemmer.
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/** Length of the longest common subsequence of two integer sequences; O(m·n) time, O(n) memory. */
export function lcsLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  const n = short.length;
  if (n === 0) return 0;
  let prev = new Int32Array(n + 1);
  let curr = new Int32Array(n + 1);
  for (let i = 0; i < long.length; i++) {
    const x = long[i];
    for (let j = 1; j <= n; j++) {
      if (short[j - 1] === x) curr[j] = (prev[j - 1] as number) + 1;
      else {
        const up = prev[j] as number;
        const left = curr[j - 1] as number;
        curr[j] = Math.max(up, left);
      }
    }
    const t = prev;
    prev = curr;
    curr = t;
  }
  return prev[n] as number;
}

/**
 * ROUGE-L (Lin, 2004) of `candidate` against `reference`: the longest common subsequence of
 * their tokens (see {@link tokenize}), precision = LCS ÷ candidate length, recall = LCS ÷
 * reference length, F = 2PR ÷ (P + R). Two empty texts score 1; one empty text scores 0.
 */
export function rougeL(
  reference: string,
  candidate: string,
  options: RougeLOptions = {},
): RougeLScore {
  const maxTokens = options.maxTokens ?? DEFAULT_ROUGE_MAX_TOKENS;
  const ref = tokenize(reference).slice(0, maxTokens);
  const cand = tokenize(candidate).slice(0, maxTokens);
  if (ref.length === 0 && cand.length === 0)
    return { precision: 1, recall: 1, fmeasure: 1, lcs: 0 };
  if (ref.length === 0 || cand.length === 0)
    return { precision: 0, recall: 0, fmeasure: 0, lcs: 0 };
  // Interning tokens as integers keeps the O(m·n) inner loop to integer compares.
  const ids = new Map<string, number>();
  const intern = (tokens: string[]) => {
    const out = new Int32Array(tokens.length);
    tokens.forEach((t, i) => {
      let id = ids.get(t);
      if (id === undefined) {
        id = ids.size;
        ids.set(t, id);
      }
      out[i] = id;
    });
    return out;
  };
  const lcs = lcsLength(intern(ref), intern(cand));
  const precision = lcs / cand.length;
  const recall = lcs / ref.length;
  const fmeasure = lcs === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, fmeasure, lcs };
}

/**
 * Compares two texts by ROUGE-L F-measure, production as the reference. Divergent when F is
 * below `minScore` (default {@link DEFAULT_MIN_ROUGE_L}); a value that is not a string gives
 * `{ similarity: null, divergent: true, reason: "not_text" }`.
 */
export function compareRougeL(
  production: unknown,
  shadow: unknown,
  minScore: number = DEFAULT_MIN_ROUGE_L,
  options: RougeLOptions = {},
): ComparisonResult {
  if (typeof production !== "string" || typeof shadow !== "string") {
    return { divergent: true, similarity: null, reason: ComparisonReason.notText };
  }
  if (production === shadow) return { divergent: false, similarity: 1 };
  const f = rougeL(production, shadow, options).fmeasure;
  return f < minScore
    ? { divergent: true, similarity: f, reason: ComparisonReason.belowThreshold }
    : { divergent: false, similarity: f };
}
