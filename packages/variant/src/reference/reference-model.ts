import { UmbraError } from "@umbra/protocol";
import type { ModelDefinition } from "../model.ts";
import { type ClassifierOptions, createClassifier } from "./classifier.ts";
import { createEmbeddingModel, type EmbeddingOptions } from "./embedding.ts";
import { createTextGenerator, type TextGeneratorOptions } from "./text-generator.ts";

/** The reference models, by the name the CLI's `--reference` takes. */
export const ReferenceModelKind = {
  classifier: "classifier",
  embedding: "embedding",
  text: "text",
} as const;

/** One of the {@link ReferenceModelKind} names. */
export type ReferenceModelKind = (typeof ReferenceModelKind)[keyof typeof ReferenceModelKind];

/** Options of any reference model (each ignores what it does not use). */
export type ReferenceModelOptions = Omit<
  ClassifierOptions & EmbeddingOptions & TextGeneratorOptions,
  "input"
> & {
  /** Classifier: `"features"` or `"json"`; embedding: `"text"` or `"features"`; text: unused. */
  readonly input?: "features" | "json" | "text";
};

/** A reference model by kind: `classifier`, `embedding` or `text`. */
export function referenceModel(
  kind: ReferenceModelKind,
  options: ReferenceModelOptions = {},
): ModelDefinition {
  const { input, ...rest } = options;
  switch (kind) {
    case "classifier":
      if (input === "text")
        throw UmbraError.invalid("input", 'must be "features" or "json" for the classifier');
      return createClassifier({ ...rest, ...(input === undefined ? {} : { input }) });
    case "embedding":
      if (input === "json")
        throw UmbraError.invalid("input", 'must be "text" or "features" for the embedding model');
      return createEmbeddingModel({ ...rest, ...(input === undefined ? {} : { input }) });
    case "text":
      return createTextGenerator(rest);
    default:
      throw UmbraError.invalid(
        "reference",
        `must be one of ${Object.keys(ReferenceModelKind).join(", ")} (got ${JSON.stringify(kind)})`,
      );
  }
}
