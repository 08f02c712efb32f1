import { createDecisionEngine, createEvidenceAccumulator, explainDecisions } from "@umbra/compare";
import { parseExperimentSpec } from "@umbra/protocol";

// 1. The frozen spec: criteria declared before the shadow starts.
const spec = parseExperimentSpec({
  schema: 1,
  experiment: "ranker",
  live: "prod",
  variants: { prod: { target: { kind: "local" } }, A: { target: { kind: "local" } } },
  outputs: { label: { kind: "label" } },
  segments: [{ attribute: "device", values: ["mobile", "desktop"] }],
  criteria: {
    maxDivergenceRate: 0.05,
    qualityMargin: 0.02,
    maxShadowP99LatencyMs: 100,
    maxErrorRate: 0.01,
    minSamples: 2_000,
    minDurationMs: 600_000,
    maxDurationMs: 86_400_000,
  },
});

// 2. One engine per experiment version; the state is plain data the caller stores.
const engine = createDecisionEngine({ spec });
const t0 = Date.UTC(2026, 2, 1, 10);
const state = engine.start(t0);

// 3. Evidence: the collector's counts for A since its stage began (built here from pairs).
const a = createEvidenceAccumulator({ spec, windowStartMs: t0 });
for (let i = 0; i < 6_000; i++) {
  a.add({
    outcome: "ok",
    timestampMs: t0 + i * 200,
    segment: { device: i % 2 === 0 ? "mobile" : "desktop" },
    divergent: i % 100 === 0,
    latencyMs: 40 + (i % 30),
    qualityDifference: [1, -1][(i >> 1) % 40] ?? 0,
  });
}
a.addPlannedMirrors(6_000);

// 4. A tick: pure, deterministic, time passed in.
const tick = engine.evaluate(
  state,
  {
    experiment: "ranker",
    specHash: engine.specHash,
    collectorLagMs: 0,
    exposureWindows: 20,
    missingExposureWindows: 0,
    candidates: { A: a.evidence() },
  },
  t0 + 21 * 60_000,
);
console.log(tick.candidates[0]?.decision, engine.routing(tick.nextState).rollout);
console.log(explainDecisions(tick.records).split("\n")[1]?.split(" — ")[0]);
