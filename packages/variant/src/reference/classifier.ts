import { UmbraError } from "@umbra/protocol";
import type { ModelDefinition } from "../model.ts";
import { type ReferenceKnobs, withKnobs } from "./knobs.ts";
import { seededRandom } from "./seeded-random.ts";

/** Options of {@link createClassifier}. */
export interface ClassifierOptions extends ReferenceKnobs {
  /** Class labels. Default `["negative", "neutral", "positive"]`. */
  readonly classes?: readonly string[];
  /** Length of the feature vector. Default 8. */
  readonly featureCount?: number;
  /**
   * `"features"` (default): one FP32 tensor `[1, featureCount]`. `"json"`: a JSON object whose
   * numeric fields, in key order, are the features (missing ones are 0, extra ones ignored); its
   * string fields can name a segment for `divergence`.
   */
  readonly input?: "features" | "json";
  /** Seed of the weights. Two classifiers with the same weights seed answer identically. */
  readonly weightsSeed?: string;
  /** Model version reported by metadata. */
  readonly version?: string;
}

function featuresOf(input: unknown, count: number): Float32Array {
  if (input instanceof Float32Array) {
    if (input.length !== count) {
      throw UmbraError.invalid("input", `must hold ${count} features (got ${input.length})`);
    }
    return input;
  }
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    const values = Object.keys(input)
      .sort()
      .map((k) => (input as Record<string, unknown>)[k])
      .filter((v): v is number => typeof v === "number");
    const out = new Float32Array(count);
    out.set(values.slice(0, count));
    return out;
  }
  throw UmbraError.invalid(
    "input",
    "must be a feature vector or a JSON object of numeric features",
  );
}

/**
 * A reference classifier: a fixed linear model (weights from `weightsSeed`) with a softmax, so a
 * feature vector always gets the same label and scores. `divergence` rolls the class scores by
 * one on the chosen segment, which changes the label.
 */
export function createClassifier(options: ClassifierOptions = {}): ModelDefinition {
  const classes = options.classes ?? ["negative", "neutral", "positive"];
  if (classes.length < 2 || new Set(classes).size !== classes.length) {
    throw UmbraError.invalid("classes", "must hold at least 2 distinct labels");
  }
  const featureCount = options.featureCount ?? 8;
  if (!Number.isSafeInteger(featureCount) || featureCount < 1) {
    throw UmbraError.invalid("featureCount", `must be a positive integer (got ${featureCount})`);
  }
  const mode = options.input ?? "features";
  const random = seededRandom(options.weightsSeed ?? "umbra-reference-classifier");
  const weights = classes.map(() => Array.from({ length: featureCount }, () => random() * 2 - 1));
  const bias = classes.map(() => random() * 0.2 - 0.1);
  const predict = withKnobs((input, _context, diverge) => {
    const x = featuresOf(input, featureCount);
    const logits = weights.map((w, c) =>
      w.reduce((sum, wj, j) => sum + wj * (x[j] ?? 0), bias[c] ?? 0),
    );
    if (diverge) logits.unshift(logits.pop() as number);
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const total = exp.reduce((a, b) => a + b, 0);
    const scores = Float32Array.from(exp, (e) => e / total);
    let best = 0;
    for (let c = 1; c < scores.length; c++) if ((scores[c] ?? 0) > (scores[best] ?? 0)) best = c;
    return { label: classes[best] as string, scores };
  }, options);
  return {
    predict,
    platform: "umbra_reference",
    ...(options.version === undefined ? {} : { version: options.version }),
    inputs: [
      mode === "features"
        ? { name: "input", datatype: "FP32", shape: [1, featureCount] }
        : { name: "input", datatype: "BYTES", shape: [1] },
    ],
    outputs: [
      { name: "label", datatype: "BYTES", shape: [1] },
      { name: "scores", datatype: "FP32", shape: [1, classes.length] },
    ],
  };
}
