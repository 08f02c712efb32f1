import type { ExperimentSpec, PairRecord } from "@umbra/protocol";
import { createRandom } from "@umbra/testing";

/** The output shapes the collector benchmark measures. */
export const SHAPES = ["classification", "embedding", "text"] as const;
/** One of the {@link SHAPES}. */
export type Shape = (typeof SHAPES)[number];

const LABELS = ["sports", "news", "music", "travel", "food", "tech", "games", "art"];
const WORDS =
  "the a model answer user query result fast small red blue cat dog runs over under about with from into".split(
    " ",
  );
const EMBEDDING_DIM = 256;

/** The spec each shape's experiment runs under: one comparator per output field. */
export function benchSpec(shape: Shape): ExperimentSpec {
  const outputs: ExperimentSpec["outputs"] =
    shape === "classification"
      ? { label: { kind: "label" }, score: { kind: "numeric", absTolerance: 0.05 } }
      : shape === "embedding"
        ? { embedding: { kind: "cosine", minSimilarity: 0.98 } }
        : { text: { kind: "rougeL", minScore: 0.8 } };
  return {
    schema: 1,
    experiment: `bench-${shape}`,
    live: "prod",
    variants: {
      prod: { target: { kind: "local" } },
      A: { target: { kind: "local" } },
      B: { target: { kind: "local" } },
      C: { target: { kind: "local" } },
    },
    outputs,
    segments: [{ attribute: "device" }],
    criteria: { minSamples: 100, minDurationMs: 0 },
  };
}

/** `count` pair records of `shape` (A/B/C round robin, 5% not ok), deterministic for a seed. */
export function* benchRecords(shape: Shape, count: number, seed = 1): Generator<PairRecord> {
  const rng = createRandom(`${seed}/${shape}`);
  const variants = ["A", "B", "C"];
  for (let i = 0; i < count; i++) {
    const variant = variants[i % 3] as string;
    let production: unknown;
    let shadow: unknown;
    if (shape === "classification") {
      const label = rng.pick(LABELS);
      const score = rng.next();
      production = { label, score };
      shadow = {
        label: rng.bernoulli(0.93) ? label : rng.pick(LABELS),
        score: score + rng.normal(0, 0.03),
      };
    } else if (shape === "embedding") {
      const e = new Float32Array(EMBEDDING_DIM).map(() => rng.normal());
      production = { embedding: e };
      shadow = { embedding: e.map((x) => x + rng.normal(0, 0.1)) };
    } else {
      const words = Array.from({ length: 30 }, () => rng.pick(WORDS));
      production = { text: words.join(" ") };
      shadow = {
        text: words.map((w) => (rng.bernoulli(0.1) ? rng.pick(WORDS) : w)).join(" "),
      };
    }
    const ok = !rng.bernoulli(0.05);
    yield {
      schema: 1,
      kind: "pair",
      requestId: `${shape}-${seed}-${i}`,
      experiment: `bench-${shape}`,
      variant,
      liveVariant: "prod",
      flag: { variant: `prod+${variant}`, reason: "TARGETING_MATCH", revision: 1 },
      sampleBasisPoints: 10_000,
      requestTimestampMs: 1_767_225_600_000 + i * 5,
      segment: {
        device: rng.pick(["mobile", "desktop", "tablet"]),
        region: rng.pick(["eu", "us"]),
      },
      features: { items: rng.int(1, 50), price: rng.next() * 100, category: rng.pick(LABELS) },
      input: { capture: "none" },
      production: { output: production, latencyMs: 2 + rng.exponential(3) },
      shadow: ok
        ? { outcome: "ok", output: shadow, latencyMs: 3 + rng.exponential(4) }
        : { outcome: "timeout" },
      warmup: false,
      sideEffectAttempts: 0,
      sdkInstanceId: "bench",
    };
  }
}
