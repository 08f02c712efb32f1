import type { PairRecord } from "@umbra/protocol";
import { createRandom } from "./random.ts";

/** Options of {@link generatePairRecords}. */
export interface GeneratePairRecordsOptions {
  /** Seed: the same seed gives the same records. */
  readonly seed: number | string;
  readonly count: number;
  readonly experiment?: string;
  /** Shadow variants the records are spread over (round robin). Default `["A", "B", "C"]`. */
  readonly variants?: readonly string[];
  /** Share of records whose shadow outcome is not `ok` (spread over the other outcomes). */
  readonly failureRate?: number;
  /** Milliseconds since the epoch of the first request. */
  readonly startMs?: number;
}

/**
 * Valid, varied pair records (every outcome, embeddings as Float32Array, segments, features),
 * deterministic for a seed: for round-trip tests, benchmarks and the demo's smoke run.
 *
 * @example
 * ```ts
 * for (const record of generatePairRecords({ seed: 1, count: 100 })) publish(encodePair(record));
 * ```
 */
export function* generatePairRecords(options: GeneratePairRecordsOptions): Generator<PairRecord> {
  const rng = createRandom(options.seed);
  const variants = options.variants ?? ["A", "B", "C"];
  const experiment = options.experiment ?? "ranker";
  const failureRate = options.failureRate ?? 0.05;
  const start = options.startMs ?? 1_763_800_000_000;
  const labels = ["sports", "news", "music", "travel"];
  for (let i = 0; i < options.count; i++) {
    const variant = variants[i % variants.length] as string;
    const prodLabel = rng.pick(labels);
    const embedding = new Float32Array(16).map(() => rng.normal());
    const shadowEmbedding = embedding.map((x) => x + rng.normal(0, 0.05));
    const device = rng.pick(["mobile", "desktop", "tablet"]);
    const base = {
      schema: 1 as const,
      kind: "pair" as const,
      requestId: `req-${String(i).padStart(7, "0")}`,
      experiment,
      variant,
      liveVariant: "prod",
      flag: { variant: `prod+${variant}`, reason: "TARGETING_MATCH", revision: 1 },
      stage: "shadow",
      sampleBasisPoints: 10_000,
      requestTimestampMs: start + i * 3,
      segment: { device, region: rng.pick(["eu", "us", "apac"]) },
      features: { items: rng.int(1, 50), score: rng.next() },
      input: { capture: "none" as const },
      production: { output: { label: prodLabel, embedding }, latencyMs: 2 + rng.exponential(3) },
      warmup: i < variants.length * 5,
      sideEffectAttempts: 0,
      sdkInstanceId: "sdk-generated",
    };
    let shadow: PairRecord["shadow"];
    if (rng.bernoulli(failureRate)) {
      const outcome = rng.pick([
        "error",
        "timeout",
        "dropped",
        "rejected_by_breaker",
        "skipped_unhealthy",
      ] as const);
      shadow =
        outcome === "error"
          ? {
              outcome,
              error: { code: "internal", message: "model raised" },
              latencyMs: rng.exponential(5),
            }
          : outcome === "dropped"
            ? { outcome, dropReason: "queue_full" }
            : { outcome };
    } else {
      const label = rng.bernoulli(0.9) ? prodLabel : rng.pick(labels);
      shadow = {
        outcome: "ok",
        output: { label, embedding: shadowEmbedding },
        latencyMs: 3 + rng.exponential(4),
      };
    }
    yield { ...base, shadow };
  }
}
