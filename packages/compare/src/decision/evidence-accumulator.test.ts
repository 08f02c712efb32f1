import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { T0, testSpec } from "./decision-fixtures.ts";
import { checkCandidateEvidence } from "./evidence.ts";
import { createEvidenceAccumulator } from "./evidence-accumulator.ts";

const spec = testSpec();

describe("EvidenceAccumulator", () => {
  it("counts outcomes, comparisons, divergence, latency against the p99 limit and quality", () => {
    const acc = createEvidenceAccumulator({ spec, windowStartMs: T0 });
    const mobile = { device: "mobile" };
    acc.add({
      outcome: "ok",
      timestampMs: T0 + 5,
      segment: mobile,
      latencyMs: 50,
      divergent: true,
      qualityDifference: -1,
    });
    acc.add({
      outcome: "ok",
      timestampMs: T0 + 2,
      segment: mobile,
      latencyMs: 150,
      qualityDifference: 1,
    });
    acc.add({
      outcome: "ok",
      timestampMs: T0 + 9,
      segment: { device: "desktop" },
      latencyMs: 500,
      warmup: true,
    });
    acc.add({ outcome: "timeout", timestampMs: T0 + 7, segment: mobile });
    acc.add({ outcome: "error", timestampMs: T0 + 8, segment: mobile, sideEffectAttempts: 2 });
    acc.add({ outcome: "dropped", timestampMs: T0 + 8, segment: {} });
    acc.addPlannedMirrors(6);
    const e = acc.evidence();
    expect(e.overall.outcomes).toEqual({
      ok: 3,
      error: 1,
      timeout: 1,
      dropped: 1,
      rejected_by_breaker: 0,
      skipped_unhealthy: 0,
    });
    expect(e.overall).toMatchObject({ compared: 3, divergent: 1 });
    // The warm-up pair is no latency sample; the timeout counts as one above the limit.
    expect(e.overall.latency).toEqual({ samples: 3, aboveLimit: 2, p99Ms: null });
    expect(e.overall.quality).toEqual({ pairs: 2, sum: 0, sumOfSquares: 2 });
    expect(e.segments.device?.mobile).toMatchObject({ compared: 2, divergent: 1 });
    expect(e.segments.device?.desktop?.compared).toBe(1);
    expect(e).toMatchObject({
      windowStartMs: T0,
      plannedMirrors: 6,
      firstSeenMs: T0 + 2,
      lastSeenMs: T0 + 9,
      sideEffectAttempts: 2,
      split: null,
    });
    expect(checkCandidateEvidence(e)).toBe(e);
  });

  it("keeps declared values only for a declared list, and a bounded number otherwise", () => {
    const declared = createEvidenceAccumulator({ spec, windowStartMs: T0 });
    declared.add({ outcome: "ok", timestampMs: T0, segment: { device: "tv" } });
    expect(Object.keys(declared.evidence().segments.device ?? {})).toEqual(["mobile", "desktop"]);
    expect(declared.droppedSegmentValues).toBe(0);

    const open = createEvidenceAccumulator({
      spec: testSpec({ segments: [{ attribute: "country" }] }),
      windowStartMs: T0,
      maxSegmentValues: 2,
    });
    for (const country of ["fr", "de", "it", "fr"]) {
      open.add({ outcome: "ok", timestampMs: T0, segment: { country } });
    }
    expect(open.evidence().segments.country).toMatchObject({
      fr: { compared: 2 },
      de: { compared: 1 },
    });
    expect(open.droppedSegmentValues).toBe(1);
  });

  it("adds up live-stage traffic splits", () => {
    const acc = createEvidenceAccumulator({ spec, windowStartMs: T0 });
    acc.addSplit(10, 100);
    acc.addSplit(12, 100);
    expect(acc.evidence().split).toEqual({ candidateRequests: 22, totalRequests: 200 });
    expect(() => acc.addSplit(5, 4)).toThrow(/candidateRequests/);
  });

  it("refuses a quality difference outside [-1, 1]", () => {
    const acc = createEvidenceAccumulator({ spec, windowStartMs: T0 });
    expect(() =>
      acc.add({ outcome: "ok", timestampMs: T0, segment: {}, qualityDifference: 1.5 }),
    ).toThrow(UmbraError);
  });
});
