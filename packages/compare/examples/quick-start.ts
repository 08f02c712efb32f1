import {
  aggregateFromJSON,
  buildReport,
  createAggregate,
  createOutputComparator,
} from "@umbra/compare";
import type { PairRecord } from "@umbra/protocol";

// 1. How each output field is compared (the experiment spec's `outputs`).
const comparator = createOutputComparator({
  outputs: {
    label: { kind: "label" },
    embedding: { kind: "cosine", minSimilarity: 0.95 },
  },
});

// 2. One aggregate per experiment (and time window): per variant × segment value.
const aggregate = createAggregate({
  experiment: "ranker",
  controlVariant: "control",
  segments: [{ attribute: "device", values: ["mobile", "desktop"] }],
});

// Pair records normally come from NATS; here: the control agrees with production, and
// candidate A answers differently on one mobile request in five.
function pair(i: number, variant: string): PairRecord {
  const device = i % 2 === 0 ? "mobile" : "desktop";
  const diverges = variant === "A" && device === "mobile" && i % 5 === 0;
  return {
    schema: 1,
    kind: "pair",
    requestId: `req-${i}`,
    experiment: "ranker",
    variant,
    liveVariant: "prod",
    flag: { variant: "prod+A+control", reason: "TARGETING_MATCH", revision: 1 },
    sampleBasisPoints: 10_000,
    requestTimestampMs: 1_700_000_000_000 + i * 1_000,
    segment: { device },
    input: { capture: "full", value: { query: `query ${i}` } },
    production: { output: { label: "cat", embedding: [1, 0] }, latencyMs: 12 + (i % 7) },
    shadow: {
      outcome: "ok",
      output: { label: diverges ? "dog" : "cat", embedding: [1, 0] },
      latencyMs: 15 + (i % 11),
    },
    warmup: false,
    sideEffectAttempts: 0,
    sdkInstanceId: "serving-1",
  };
}

for (let i = 0; i < 200; i++) {
  for (const variant of ["control", "A"]) {
    const p = pair(i, variant);
    aggregate.addPair(p, comparator.comparePair(p));
  }
}

// 3. Checkpoint and restore: the aggregate is plain JSON (the collector keeps it in a KV bucket).
const restored = aggregateFromJSON(JSON.parse(JSON.stringify(aggregate)));

// 4. The side-by-side report.
const report = buildReport(restored);
for (const v of report.variants) {
  const d = v.divergence;
  const worst = v.worstSegments[0];
  console.log(
    `${v.variant}: divergence ${((d.rate ?? 0) * 100).toFixed(1)}% ` +
      `[${(d.lower * 100).toFixed(1)}%, ${(d.upper * 100).toFixed(1)}%] ${d.bucket}, ` +
      `shadow p99 ${v.latencyMs.shadow.p99} ms, worst segment ${worst?.attribute}=${worst?.value}`,
  );
}
