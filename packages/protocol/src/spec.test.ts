import { describe, expect, it } from "vitest";
import { type ExperimentSpec, parseExperimentSpec, specHash } from "./spec.ts";

const spec = (): ExperimentSpec => ({
  schema: 1,
  experiment: "ranker",
  live: "prod",
  variants: {
    prod: { target: { kind: "local" } },
    A: {
      target: { kind: "oip", address: "127.0.0.1:8001", model: "ranker-a" },
      sampleBasisPoints: 10_000,
    },
    B: {
      target: { kind: "oip", address: "127.0.0.1:8002", model: "ranker-b", transport: "stream" },
      sampleBasisPoints: 2_500,
    },
  },
  outputs: { label: { kind: "label" }, embedding: { kind: "cosine", minSimilarity: 0.95 } },
  segments: [{ attribute: "device", values: ["mobile", "desktop"] }],
  criteria: {
    maxDivergenceRate: 0.05,
    maxShadowP99LatencyMs: 100,
    maxErrorRate: 0.01,
    minSamples: 1_000,
    minDurationMs: 60_000,
    minSamplesPerSegment: 200,
  },
});

describe("experiment spec", () => {
  it("accepts a complete spec", () => {
    expect(parseExperimentSpec(spec())).toEqual(spec());
  });

  it("hashes content, not key order", () => {
    const a = spec();
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as ExperimentSpec;
    expect(Object.keys(reordered)[0]).toBe("criteria");
    expect(specHash(reordered)).toBe(specHash(a));
    expect(specHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives a changed criterion a new hash: a new experiment version", () => {
    const changed = spec();
    changed.criteria.maxDivergenceRate = 0.06;
    expect(specHash(changed)).not.toBe(specHash(spec()));
  });

  it.each([
    [
      "an unknown comparator",
      (s: Record<string, unknown>) => {
        (s.outputs as Record<string, unknown>).label = { kind: "fuzzy" };
      },
      "/outputs/label",
    ],
    [
      "a live variant that is not declared",
      (s: Record<string, unknown>) => {
        s.live = "Z";
      },
      "/live",
    ],
    [
      "a divergence rate above 1",
      (s: Record<string, unknown>) => {
        (s.criteria as Record<string, unknown>).maxDivergenceRate = 5;
      },
      "/criteria/maxDivergenceRate",
    ],
    [
      "missing minSamples",
      (s: Record<string, unknown>) => {
        delete (s.criteria as Record<string, unknown>).minSamples;
      },
      "/criteria/minSamples",
    ],
    [
      "a typo in a field name",
      (s: Record<string, unknown>) => {
        (s.criteria as Record<string, unknown>).maxErorRate = 0.1;
      },
      "/criteria/maxErorRate",
    ],
    [
      "stages that do not end at 100%",
      (s: Record<string, unknown>) => {
        s.stages = [{ name: "live-1", rolloutBasisPoints: 100, holdMs: 0 }];
      },
      "/stages/0/rolloutBasisPoints",
    ],
    [
      "stages that do not grow",
      (s: Record<string, unknown>) => {
        s.stages = [
          { name: "a", rolloutBasisPoints: 500, holdMs: 0 },
          { name: "b", rolloutBasisPoints: 100, holdMs: 0 },
          { name: "c", rolloutBasisPoints: 10_000, holdMs: 0 },
        ];
      },
      "/stages/1/rolloutBasisPoints",
    ],
    [
      "a variant name that is not a subject token",
      (s: Record<string, unknown>) => {
        (s.variants as Record<string, unknown>)["a.b"] = { target: { kind: "local" } };
      },
      "/variants/a.b",
    ],
  ])("rejects %s, naming %s", (_what, mutate, field) => {
    const s = spec() as unknown as Record<string, unknown>;
    mutate(s);
    expect(() => parseExperimentSpec(s)).toThrowError(
      expect.objectContaining({ code: "invalid_argument", field }),
    );
  });
});
