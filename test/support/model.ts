// The deterministic model the SDK tests serve as production and as shadow variants.
const WEIGHTS = [0.9, -0.4, 0.3, 0.7, -0.2, 0.5, -0.8, 0.1];
const LABELS = ["negative", "neutral", "positive"] as const;

/** What the test model answers. */
export interface TestAnswer {
  readonly label: string;
  readonly scores: Float32Array;
}

/** Scores a feature vector: the same function runs locally (production) and behind gRPC (shadows). */
export function score(features: ArrayLike<number>): TestAnswer {
  let z = 0;
  for (let i = 0; i < WEIGHTS.length; i++) z += (WEIGHTS[i] ?? 0) * (features[i] ?? 0);
  const p = 1 / (1 + Math.exp(-z));
  const scores = new Float32Array([1 - p, Math.abs(0.5 - p), p]);
  return { label: LABELS[z < -0.3 ? 0 : z > 0.3 ? 2 : 1], scores };
}
