import type { OutputComparison } from "@umbra/compare";
import {
  type ExperimentSpec,
  type ExposureRecord,
  type PairRecord,
  parseExperimentSpec,
} from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { StageEvidence } from "./stage-evidence.ts";

const HASH = "b".repeat(64);
const OTHER = "c".repeat(64);
const T0 = 1_790_000_000_000;

const spec: ExperimentSpec = parseExperimentSpec({
  schema: 1,
  experiment: "ranker",
  live: "prod",
  variants: { prod: { target: { kind: "local" } }, A: { target: { kind: "local" } } },
  outputs: { label: { kind: "label" } },
  segments: [{ attribute: "device", values: ["mobile", "desktop"] }],
  criteria: { minSamples: 10, minDurationMs: 0, maxShadowP99LatencyMs: 100 },
});

const same: OutputComparison = { divergent: false, similarity: 1, fields: {}, divergentFields: [] };
const differs: OutputComparison = {
  divergent: true,
  similarity: 0,
  fields: {},
  divergentFields: ["label"],
};

function pair(over: Partial<PairRecord> & { readonly i: number }): PairRecord {
  const { i, ...rest } = over;
  return {
    schema: 1,
    kind: "pair",
    requestId: `req-${i}`,
    experiment: "ranker",
    variant: "A",
    liveVariant: "prod",
    flag: { variant: "prod+A", reason: "TARGETING_MATCH", revision: 2 },
    specHash: HASH,
    stage: "shadow",
    sampleBasisPoints: 10_000,
    requestTimestampMs: T0 + 1_000 + i,
    segment: { device: i % 2 === 0 ? "mobile" : "desktop" },
    input: { capture: "none" },
    production: { output: { label: "x" }, latencyMs: 5 },
    shadow: { outcome: "ok", output: { label: "x" }, latencyMs: i % 10 === 0 ? 500 : 20 },
    warmup: false,
    sideEffectAttempts: 0,
    sdkInstanceId: "sdk-1",
    ...rest,
  };
}

function exposure(
  windowStartMs: number,
  entries: ExposureRecord["entries"],
  seq = 1,
): ExposureRecord {
  return {
    schema: 1,
    kind: "exposure",
    experiment: "ranker",
    sdkInstanceId: "sdk-1",
    seq,
    windowStartMs,
    windowEndMs: windowStartMs + 1_000,
    entries,
  };
}

const shadowWindow = {
  key: "shadow|shadow|1",
  baseline: "prod",
  flipped: false,
  live: false,
  windowStartMs: T0,
};

describe("StageEvidence", () => {
  it("counts only this version's pairs of the candidate against its baseline, from the window's start", () => {
    const evidence = new StageEvidence(spec, HASH);
    evidence.reset("A", shadowWindow);
    for (let i = 0; i < 20; i++) evidence.observePair(pair({ i }), i < 3 ? differs : same);
    evidence.observePair(pair({ i: 100, specHash: OTHER }), same);
    evidence.observePair(pair({ i: 101, requestTimestampMs: T0 - 1 }), same);
    evidence.observePair(pair({ i: 102, liveVariant: "B" }), same);
    evidence.observePair(pair({ i: 103, variant: "B" }), same);
    evidence.observePair(pair({ i: 104, shadow: { outcome: "timeout" } }), undefined);
    const e = evidence.evidence("A");
    expect(e?.overall.outcomes.ok).toBe(20);
    expect(e?.overall.outcomes.timeout).toBe(1);
    expect(e?.overall.compared).toBe(20);
    expect(e?.overall.divergent).toBe(3);
    // Two of the ok pairs were slower than 100 ms, and a timeout always counts as slower.
    expect(e?.overall.latency).toMatchObject({ samples: 21, aboveLimit: 3 });
    expect(e?.segments.device?.mobile?.compared).toBe(10);
    expect(e?.windowStartMs).toBe(T0);
    expect(e?.split).toBeNull();
  });

  it("takes the candidate's side from production in the watch, where the old live variant is mirrored", () => {
    const evidence = new StageEvidence(spec, HASH);
    evidence.reset("A", {
      key: "watch|watch|1",
      baseline: "prod",
      flipped: true,
      live: false,
      windowStartMs: T0,
    });
    const watched = (i: number, failed: boolean) =>
      pair({
        i,
        variant: "prod",
        liveVariant: "A",
        production: failed
          ? { error: { code: "internal", message: "boom" }, latencyMs: 7 }
          : { output: { label: "x" }, latencyMs: 150 },
      });
    evidence.observePair(watched(1, false), same);
    evidence.observePair(watched(2, true), undefined);
    evidence.observePair(pair({ i: 3 }), same);
    const e = evidence.evidence("A");
    expect(e?.overall.outcomes).toMatchObject({ ok: 1, error: 1 });
    expect(e?.overall.compared).toBe(1);
    expect(e?.overall.latency).toMatchObject({ samples: 1, aboveLimit: 1 });
  });

  it("counts planned mirrors and, in a live stage, the traffic split from exposure windows that began in the stage", () => {
    const evidence = new StageEvidence(spec, HASH);
    evidence.reset("A", {
      key: "live|live-50|1",
      baseline: "prod",
      flipped: false,
      live: true,
      windowStartMs: T0,
    });
    const mirrors = (planned: number) => ({ A: { planned, dispatched: planned, dropped: {} } });
    evidence.observeExposure(
      exposure(T0 - 500, [{ plan: "prod+A", segment: {}, requests: 90, mirrors: mirrors(90) }]),
      0,
    );
    evidence.observeExposure(
      exposure(
        T0 + 10,
        [
          { plan: "prod+A", segment: {}, requests: 48, mirrors: mirrors(48) },
          { plan: "A", segment: {}, requests: 52, mirrors: {} },
          { plan: "default:prod", segment: {}, requests: 7, mirrors: {} },
        ],
        3,
      ),
      1,
    );
    const e = evidence.evidence("A");
    expect(e?.plannedMirrors).toBe(48);
    expect(e?.split).toEqual({ candidateRequests: 52, totalRequests: 100 });
    // No pair yet, but the candidate answered requests: the stage has traffic.
    expect(e?.lastSeenMs).toBe(T0 + 1_010);
    expect(evidence.exposureCounts).toEqual({ received: 2, missing: 1 });
  });

  it("adds quality from late labels: +1 when only the candidate was right, -1 when only the baseline was", () => {
    const evidence = new StageEvidence(spec, HASH);
    evidence.reset("A", shadowWindow);
    const scored = (i: number, over: { liveVariant?: string; variant?: string } = {}) => ({
      variant: over.variant ?? "A",
      liveVariant: over.liveVariant ?? "prod",
      specHash: HASH,
      requestTimestampMs: T0 + 10 + i,
      segment: { device: i % 2 === 0 ? "mobile" : "desktop" },
    });
    for (let i = 0; i < 4; i++) evidence.observePair(pair({ i }), same);
    evidence.observeQuality(scored(0), false, true);
    evidence.observeQuality(scored(1), true, false);
    evidence.observeQuality(scored(2), false, true);
    evidence.observeQuality(scored(3), true, true);
    // Another candidate's pair, and a pair of another version, add nothing.
    evidence.observeQuality(scored(4, { variant: "B" }), false, true);
    evidence.observeQuality({ ...scored(5), specHash: OTHER }, false, true);
    const e = evidence.evidence("A");
    expect(e?.overall.quality).toEqual({ pairs: 4, sum: 1, sumOfSquares: 3 });
    expect(e?.segments.device?.mobile?.quality).toEqual({ pairs: 2, sum: 2, sumOfSquares: 2 });
    const restored = new StageEvidence(spec, HASH, JSON.parse(JSON.stringify(evidence.toJSON())));
    expect(restored.evidence("A")).toEqual(e);

    const watch = new StageEvidence(spec, HASH);
    watch.reset("A", { ...shadowWindow, key: "watch|watch|1", flipped: true });
    watch.observePair(pair({ i: 0, variant: "prod", liveVariant: "A" }), same);
    // In the watch the old live variant is the mirrored one: its being right counts against A.
    watch.observeQuality(scored(0, { variant: "prod", liveVariant: "A" }), false, true);
    expect(watch.evidence("A")?.overall.quality).toEqual({ pairs: 1, sum: -1, sumOfSquares: 1 });
  });

  it("restores from its checkpoint JSON and keeps counting on top of it", () => {
    const evidence = new StageEvidence(spec, HASH);
    evidence.reset("A", shadowWindow);
    for (let i = 0; i < 10; i++) evidence.observePair(pair({ i }), i === 0 ? differs : same);
    const json = JSON.parse(JSON.stringify(evidence.toJSON()));
    const restored = new StageEvidence(spec, HASH, json);
    expect(restored.evidence("A")).toEqual(evidence.evidence("A"));
    expect(restored.window("A")?.key).toBe(shadowWindow.key);
    for (let i = 10; i < 15; i++) restored.observePair(pair({ i }), differs);
    expect(restored.evidence("A")?.overall).toMatchObject({ compared: 15, divergent: 6 });
    // Evidence of another version is not restored into this one.
    expect(new StageEvidence(spec, OTHER, json).evidence("A")).toBeUndefined();
  });
});
