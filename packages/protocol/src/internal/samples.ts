import type { DecisionRecord, ExposureRecord, LabelRecord, PairRecord } from "../records.ts";

/** A complete, valid pair record with an embedding: the golden vector for the pair kind. */
export function samplePair(): PairRecord {
  return {
    schema: 1,
    kind: "pair",
    requestId: "req-0001",
    experiment: "ranker",
    variant: "A",
    liveVariant: "prod",
    flag: { variant: "prod+A", reason: "TARGETING_MATCH", revision: 3 },
    specHash: "9f2c3d1e5b7a4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f",
    stage: "shadow",
    sampleBasisPoints: 10_000,
    requestTimestampMs: 1_763_800_000_000,
    segment: { device: "mobile", region: "eu" },
    features: { items: 12, query_len: 31.5, premium: true },
    input: {
      capture: "sha256",
      sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    },
    production: {
      output: {
        label: "sports",
        scores: [0.7, 0.2, 0.1],
        embedding: new Float32Array([0.5, -1.25, 2]),
      },
      latencyMs: 4.2,
    },
    shadow: {
      outcome: "ok",
      output: {
        label: "sports",
        scores: [0.65, 0.25, 0.1],
        embedding: new Float32Array([0.5, -1, 2.5]),
      },
      latencyMs: 7.9,
      cacheHit: false,
    },
    warmup: false,
    sideEffectAttempts: 0,
    sdkInstanceId: "sdk-7f3a",
  };
}

/** A valid exposure record: the golden vector for the exposure kind. */
export function sampleExposure(): ExposureRecord {
  return {
    schema: 1,
    kind: "exposure",
    experiment: "ranker",
    sdkInstanceId: "sdk-7f3a",
    seq: 42,
    windowStartMs: 1_763_800_000_000,
    windowEndMs: 1_763_800_005_000,
    entries: [
      {
        plan: "prod+A+C",
        segment: { device: "mobile", region: "eu" },
        requests: 120,
        mirrors: {
          A: { planned: 120, dispatched: 118, dropped: { queue_full: 2 } },
          C: { planned: 120, dispatched: 120, dropped: {} },
        },
      },
    ],
  };
}

/** A valid label record: the golden vector for the label kind. */
export function sampleLabel(): LabelRecord {
  return {
    schema: 1,
    kind: "label",
    experiment: "ranker",
    requestId: "req-0001",
    label: "sports",
    observedAtMs: 1_763_886_400_000,
    source: "clicks",
  };
}

/** A valid decision record: the golden vector for the decision kind. */
export function sampleDecision(): DecisionRecord {
  return {
    schema: 1,
    kind: "decision",
    experiment: "ranker",
    specHash: "9f2c3d1e5b7a4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f",
    atMs: 1_763_803_600_000,
    seq: 7,
    from: "shadow",
    to: "live-1",
    outcome: "pass",
    rule: "all-criteria-pass",
    reason:
      "A passed every criterion: divergence 0.8% (upper bound 1.4% < 5%), p99 41 ms < 100 ms.",
    actor: "collector",
    flagRevision: 4,
    evidence: { samples: 12_000, divergenceUpper: 0.014, p99Ms: 41 },
  };
}
