export type {
  ModelContext,
  ModelDefinition,
  ModelFunction,
  ModelResult,
} from "./model.ts";
export type { ClassifierOptions } from "./reference/classifier.ts";
export { createClassifier } from "./reference/classifier.ts";
export type { EmbeddingOptions } from "./reference/embedding.ts";
export { createEmbeddingModel } from "./reference/embedding.ts";
export type { ReferenceKnobs } from "./reference/knobs.ts";
export {
  GARBAGE_OUTPUTS,
  garbageModel,
  hangingModel,
  slowModel,
  throwingModel,
} from "./reference/misbehaving.ts";
export type { ReferenceModelOptions } from "./reference/reference-model.ts";
export { ReferenceModelKind, referenceModel } from "./reference/reference-model.ts";
export type { TextGeneratorOptions } from "./reference/text-generator.ts";
export { createTextGenerator } from "./reference/text-generator.ts";
export type { ServeVariantOptions, VariantServer, VariantServerStats } from "./serve-variant.ts";
export { serveVariant } from "./serve-variant.ts";
export type { ShadowRun } from "./shadow-guard.ts";
export {
  guardSideEffects,
  guardStats,
  isShadow,
  runAsShadow,
  shadowRequestId,
} from "./shadow-guard.ts";
