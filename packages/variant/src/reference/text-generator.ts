import { UmbraError } from "@umbra/protocol";
import type { ModelDefinition } from "../model.ts";
import { textOf } from "./embedding.ts";
import { type ReferenceKnobs, withKnobs } from "./knobs.ts";
import { hashString, seededRandom } from "./seeded-random.ts";

/** Options of {@link createTextGenerator}. */
export interface TextGeneratorOptions extends ReferenceKnobs {
  /** Most words in an answer (at least 3 are written). Default 8. */
  readonly maxWords?: number;
  /** Seed of the word choice. */
  readonly weightsSeed?: string;
  readonly version?: string;
}

const VOCABULARY = [
  "the",
  "model",
  "shadow",
  "traffic",
  "answer",
  "request",
  "variant",
  "quietly",
  "compares",
  "every",
  "label",
  "score",
  "signal",
  "stable",
  "quick",
  "brown",
  "river",
  "mountain",
  "light",
  "system",
  "promotes",
  "careful",
  "ramp",
  "metric",
  "latency",
  "user",
  "never",
  "sees",
  "it",
  "before",
  "after",
  "window",
  "segment",
  "sample",
  "result",
  "clear",
  "bright",
  "steady",
  "calm",
  "ready",
] as const;

/**
 * A reference text generator: a short text (3 to `maxWords` words) chosen from a fixed
 * vocabulary by a hash of the prompt, so the same prompt always gets the same text. Input: a
 * string, or an object with a `prompt` (or `text`) field. `divergence` writes a different text on
 * the chosen segment.
 */
export function createTextGenerator(options: TextGeneratorOptions = {}): ModelDefinition {
  const maxWords = options.maxWords ?? 8;
  if (!Number.isSafeInteger(maxWords) || maxWords < 3) {
    throw UmbraError.invalid("maxWords", `must be an integer >= 3 (got ${maxWords})`);
  }
  const seed = options.weightsSeed ?? "umbra-reference-text";
  const predict = withKnobs((input, _context, diverge) => {
    const prompt = textOf(input);
    const r = seededRandom(hashString(`${seed}/${diverge ? "diverged/" : ""}${prompt}`));
    const count = 3 + Math.floor(r() * (maxWords - 2));
    const words = Array.from(
      { length: count },
      () => VOCABULARY[Math.floor(r() * VOCABULARY.length)],
    );
    return { text: words.join(" ") };
  }, options);
  return {
    predict,
    platform: "umbra_reference",
    ...(options.version === undefined ? {} : { version: options.version }),
    inputs: [{ name: "input", datatype: "BYTES", shape: [1] }],
    outputs: [{ name: "text", datatype: "BYTES", shape: [1] }],
  };
}
