import {
  buildExperimentFlag,
  buildFlagFile,
  createFlagEvaluator,
  decodePair,
  encodePair,
  type PairRecord,
  validateFlagFile,
} from "@umbra/protocol";

// The flag: prod answers, A gets every request, B a quarter of them.
const file = buildFlagFile({
  "umbra.ranker": buildExperimentFlag({
    experiment: "ranker",
    live: "prod",
    revision: 1,
    candidates: [
      { variant: "A", sampleBasisPoints: 10_000 },
      { variant: "B", sampleBasisPoints: 2_500 },
    ],
  }),
});
const problems = validateFlagFile(file); // [] — safe to write where flagd watches
const plan = createFlagEvaluator(file)("ranker", "req-42"); // { live: "prod", mirror: ["A", …] }

// A pair record, as the SDK publishes it and the collector reads it.
const record: PairRecord = {
  schema: 1,
  kind: "pair",
  requestId: "req-42",
  experiment: "ranker",
  variant: "A",
  liveVariant: "prod",
  flag: { variant: plan.flagVariant, reason: plan.reason, revision: plan.revision },
  sampleBasisPoints: 10_000,
  requestTimestampMs: 1_763_800_000_000,
  segment: { device: "mobile" },
  input: { capture: "none" },
  production: {
    output: { label: "sports", embedding: new Float32Array([0.5, -1]) },
    latencyMs: 4.2,
  },
  shadow: {
    outcome: "ok",
    output: { label: "sports", embedding: new Float32Array([0.5, -0.9]) },
    latencyMs: 7.1,
  },
  warmup: false,
  sideEffectAttempts: 0,
  sdkInstanceId: "sdk-1",
};
const bytes = encodePair(record); // standard msgpack; Float32Array travels as { $dtype, $bytes }
const back = decodePair(bytes); // validated; a bad record throws UmbraError naming the field

export { back, plan, problems };
