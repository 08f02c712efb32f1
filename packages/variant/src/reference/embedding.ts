import { UmbraError } from "@umbra/protocol";
import type { ModelDefinition } from "../model.ts";
import { type ReferenceKnobs, withKnobs } from "./knobs.ts";
import { hashString, seededRandom } from "./seeded-random.ts";

/** Options of {@link createEmbeddingModel}. */
export interface EmbeddingOptions extends ReferenceKnobs {
  /** Length of the embedding. Default 64. */
  readonly dimensions?: number;
  /**
   * `"text"` (default): a JSON input — a string, or an object with a `text` (or `prompt`) field.
   * `"features"`: one FP32 tensor of any length, projected to `dimensions`.
   */
  readonly input?: "text" | "features";
  /** Seed of the embedding space. */
  readonly weightsSeed?: string;
  readonly version?: string;
}

/** The text of a JSON input: a string, or an object's `text` or `prompt` field. */
export function textOf(input: unknown): string {
  if (typeof input === "string") return input;
  if (typeof input === "object" && input !== null) {
    const o = input as Record<string, unknown>;
    if (typeof o.text === "string") return o.text;
    if (typeof o.prompt === "string") return o.prompt;
  }
  throw UmbraError.invalid("input", "must be a string or an object with a text or prompt field");
}

function normalize(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) {
    v[0] = 1;
    return v;
  }
  for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}

/**
 * A reference embedding model: a unit vector (64 dimensions by default) from hashed words of a
 * text, or from a fixed random projection of a feature vector; the same input always gives the
 * same vector. `divergence` reverses the vector on the chosen segment (cosine similarity drops).
 */
export function createEmbeddingModel(options: EmbeddingOptions = {}): ModelDefinition {
  const dimensions = options.dimensions ?? 64;
  if (!Number.isSafeInteger(dimensions) || dimensions < 2) {
    throw UmbraError.invalid("dimensions", `must be an integer >= 2 (got ${dimensions})`);
  }
  const mode = options.input ?? "text";
  const space = options.weightsSeed ?? "umbra-reference-embedding";
  const predict = withKnobs((input, _context, diverge) => {
    const v = new Float32Array(dimensions);
    if (input instanceof Float32Array) {
      for (let d = 0; d < dimensions; d++) {
        const row = seededRandom(`${space}/${d}`);
        let sum = 0;
        for (const x of input) sum += x * (row() * 2 - 1);
        v[d] = sum;
      }
    } else {
      const words = textOf(input)
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter(Boolean);
      for (const word of words) {
        const r = seededRandom(hashString(`${space}/${word}`));
        for (let d = 0; d < dimensions; d++) v[d] = (v[d] ?? 0) + (r() * 2 - 1);
      }
    }
    if (diverge) v.reverse();
    return { embedding: normalize(v) };
  }, options);
  return {
    predict,
    platform: "umbra_reference",
    ...(options.version === undefined ? {} : { version: options.version }),
    inputs: [
      mode === "features"
        ? { name: "input", datatype: "FP32", shape: [1, -1] }
        : { name: "input", datatype: "BYTES", shape: [1] },
    ],
    outputs: [{ name: "embedding", datatype: "FP32", shape: [1, dimensions] }],
  };
}
