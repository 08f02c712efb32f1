export type {
  Comparator,
  ComparatorConfig,
  ComparatorKind,
  CreateComparatorOptions,
  CustomComparatorFn,
} from "./comparators/comparator.ts";
export { createComparator } from "./comparators/comparator.ts";
export type { ComparisonResult, FieldDiff } from "./comparators/comparison-result.ts";
export { ComparisonReason } from "./comparators/comparison-result.ts";
export type { CosineOutcome } from "./comparators/cosine.ts";
export { compareCosine, cosineSimilarity, DEFAULT_MIN_COSINE } from "./comparators/cosine.ts";
export type { Label, LabelOptions } from "./comparators/label.ts";
export { compareLabels, rankedLabels } from "./comparators/label.ts";
export type { NumericOptions } from "./comparators/numeric.ts";
export { compareNumeric, DEFAULT_REL_TOLERANCE, isClose } from "./comparators/numeric.ts";
export type {
  ComparablePair,
  OutputComparator,
  OutputComparatorOptions,
  OutputComparison,
} from "./comparators/output-comparator.ts";
export { createOutputComparator } from "./comparators/output-comparator.ts";
export type { RougeLOptions, RougeLScore } from "./comparators/rouge-l.ts";
export {
  compareRougeL,
  DEFAULT_MIN_ROUGE_L,
  DEFAULT_ROUGE_MAX_TOKENS,
  lcsLength,
  rougeL,
  tokenize,
} from "./comparators/rouge-l.ts";
export type { DiffOptions, DiffSummary } from "./comparators/structured-diff.ts";
export { diffValues } from "./comparators/structured-diff.ts";
