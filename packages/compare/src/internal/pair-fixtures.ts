import type { ExposureRecord, PairRecord } from "@umbra/protocol";

/** What a test varies in a pair; everything else gets a valid default. */
export interface PairSpec {
  requestId?: string;
  experiment?: string;
  variant?: string;
  outcome?: PairRecord["shadow"]["outcome"];
  requestTimestampMs?: number;
  segment?: Record<string, string>;
  features?: Record<string, number | string | boolean>;
  productionOutput?: unknown;
  shadowOutput?: unknown;
  productionLatencyMs?: number;
  shadowLatencyMs?: number;
  productionError?: boolean;
  productionCacheHit?: boolean;
  shadowCacheHit?: boolean | undefined;
  warmup?: boolean;
  sideEffectAttempts?: number;
  dropReason?: string;
  specHash?: string;
}

let counter = 0;

/** A valid pair record for tests. */
export function makePair(spec: PairSpec = {}): PairRecord {
  const outcome = spec.outcome ?? "ok";
  const shadow: PairRecord["shadow"] = { outcome };
  if (outcome === "ok") {
    shadow.latencyMs = spec.shadowLatencyMs ?? 10;
    if (spec.shadowOutput !== undefined) shadow.output = spec.shadowOutput;
  }
  if (outcome === "error") {
    shadow.error = { code: "internal", message: "boom" };
    if (spec.shadowLatencyMs !== undefined) shadow.latencyMs = spec.shadowLatencyMs;
  }
  if (outcome === "dropped") shadow.dropReason = spec.dropReason ?? "queue_full";
  if (spec.shadowCacheHit !== undefined) shadow.cacheHit = spec.shadowCacheHit;
  const production: PairRecord["production"] = { latencyMs: spec.productionLatencyMs ?? 5 };
  if (spec.productionOutput !== undefined) production.output = spec.productionOutput;
  if (spec.productionError === true) production.error = { code: "internal", message: "prod" };
  if (spec.productionCacheHit !== undefined) production.cacheHit = spec.productionCacheHit;
  const pair: PairRecord = {
    schema: 1,
    kind: "pair",
    requestId: spec.requestId ?? `req-${++counter}`,
    experiment: spec.experiment ?? "ranker",
    variant: spec.variant ?? "A",
    liveVariant: "prod",
    flag: { variant: "prod+A", reason: "TARGETING_MATCH", revision: 1 },
    sampleBasisPoints: 10_000,
    requestTimestampMs: spec.requestTimestampMs ?? 1_700_000_000_000,
    segment: spec.segment ?? {},
    input: { capture: "full", value: { q: "hello" } },
    production,
    shadow,
    warmup: spec.warmup ?? false,
    sideEffectAttempts: spec.sideEffectAttempts ?? 0,
    sdkInstanceId: "sdk-1",
  };
  if (spec.features !== undefined) pair.features = spec.features;
  if (spec.specHash !== undefined) pair.specHash = spec.specHash;
  return pair;
}

/** A valid exposure record for tests: one entry per (segment, variant → planned). */
export function makeExposure(spec: {
  experiment?: string;
  sdkInstanceId?: string;
  seq: number;
  windowStartMs?: number;
  entries: {
    segment?: Record<string, string>;
    requests?: number;
    plan?: string;
    planned: Record<string, number>;
    dropped?: Record<string, Record<string, number>>;
  }[];
}): ExposureRecord {
  const start = spec.windowStartMs ?? 1_700_000_000_000;
  return {
    schema: 1,
    kind: "exposure",
    experiment: spec.experiment ?? "ranker",
    sdkInstanceId: spec.sdkInstanceId ?? "sdk-1",
    seq: spec.seq,
    windowStartMs: start,
    windowEndMs: start + 10_000,
    entries: spec.entries.map((e) => {
      const mirrors: ExposureRecord["entries"][number]["mirrors"] = {};
      for (const [variant, planned] of Object.entries(e.planned)) {
        const dropped = e.dropped?.[variant] ?? {};
        const d = Object.values(dropped).reduce((a, b) => a + b, 0);
        mirrors[variant] = { planned, dispatched: planned - d, dropped };
      }
      return {
        plan: e.plan ?? "prod+A",
        segment: e.segment ?? {},
        requests: e.requests ?? Math.max(0, ...Object.values(e.planned)),
        mirrors,
      };
    }),
  };
}
