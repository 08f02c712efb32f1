import type { PairRecord } from "@umbra/protocol";
import { UmbraError } from "@umbra/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createOutputComparator } from "../comparators/output-comparator.ts";
import { makeExposure, makePair, type PairSpec } from "../internal/pair-fixtures.ts";
import {
  type Aggregate,
  type AggregateOptions,
  aggregateFromJSON,
  aggregateOptionsFromSpec,
  createAggregate,
  mergeAggregates,
} from "./aggregate.ts";
import { buildReport } from "./report.ts";

const comparator = createOutputComparator({
  outputs: { label: { kind: "label" }, score: { kind: "numeric", absTolerance: 0.05 } },
});

function feed(aggregate: Aggregate, pairs: readonly PairRecord[]): Aggregate {
  for (const p of pairs) aggregate.addPair(p, comparator.comparePair(p));
  return aggregate;
}

/** Deep equality where numbers may differ by float rounding (sums merged in another order). */
function expectClose(actual: unknown, expected: unknown, path = ""): void {
  if (typeof expected === "number" && typeof actual === "number") {
    const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
    if (
      !(
        Math.abs(actual - expected) <= tolerance ||
        (Number.isNaN(actual) && Number.isNaN(expected))
      )
    ) {
      expect.fail(`${path}: ${actual} is not close to ${expected}`);
    }
    return;
  }
  if (
    typeof expected !== "object" ||
    expected === null ||
    typeof actual !== "object" ||
    actual === null
  ) {
    expect(actual, path).toEqual(expected);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, `${path} length`).toBe(expected.length);
    expected.forEach((e, i) => {
      expectClose((actual as unknown[])[i], e, `${path}/${i}`);
    });
    return;
  }
  expect(Object.keys(actual).sort(), path).toEqual(Object.keys(expected).sort());
  for (const key of Object.keys(expected)) {
    expectClose(
      (actual as Record<string, unknown>)[key],
      (expected as Record<string, unknown>)[key],
      `${path}/${key}`,
    );
  }
}

/** The JSON form without what legitimately differs between equivalent aggregates. */
function comparable(a: Aggregate): unknown {
  return JSON.parse(
    JSON.stringify(a.toJSON(), (key, value) => {
      if (key === "hdr") return undefined; // compared through report percentiles instead
      if (key === "items" || key === "randomState") return undefined; // reservoirs are random samples
      if (key === "seed") return undefined;
      return value;
    }),
  );
}

const NOW = 1_700_000_000_000;

const pairSpec: fc.Arbitrary<PairSpec> = fc.record({
  variant: fc.constantFrom("control", "A", "B"),
  outcome: fc.constantFrom(
    "ok",
    "ok",
    "ok",
    "ok",
    "error",
    "timeout",
    "dropped",
    "rejected_by_breaker",
    "skipped_unhealthy",
  ),
  requestTimestampMs: fc.integer({ min: NOW, max: NOW + 20 * 60_000 }),
  segment: fc.record({
    device: fc.constantFrom("mobile", "desktop", "tablet", "tv"),
    region: fc.constantFrom("eu", "us"),
  }),
  features: fc.record({
    length: fc.integer({ min: 0, max: 500 }),
    lang: fc.constantFrom("en", "de", "fr"),
  }),
  productionOutput: fc.record({
    label: fc.constantFrom("x", "y"),
    score: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  shadowOutput: fc.record({
    label: fc.constantFrom("x", "y"),
    score: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  productionLatencyMs: fc.double({ min: 0, max: 2000, noNaN: true }),
  shadowLatencyMs: fc.double({ min: 0, max: 5000, noNaN: true }),
  productionError: fc.constantFrom(
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    true,
  ),
  shadowCacheHit: fc.option(fc.boolean(), { nil: undefined }),
  warmup: fc.boolean(),
  sideEffectAttempts: fc.nat(2),
});

const smallOptions: AggregateOptions = {
  experiment: "ranker",
  controlVariant: "control",
  timeBucketMs: 60_000,
  maxTimeBuckets: 5,
  maxSegmentValues: 4,
  similarityBins: 100,
  examplesPerVariant: 5,
  examplesPerSegment: 2,
  maxCategoricalFeatures: 4,
  maxFeatureValues: 3,
};

describe("Aggregate", () => {
  it("counts pairs by outcome, divergence, latency and coverage exactly as an independent tally", () => {
    // A hand-built experiment: variant A diverges on mobile only; B is slow; control agrees.
    const pairs: PairRecord[] = [];
    const devices = ["mobile", "desktop"];
    for (let i = 0; i < 40; i++) {
      const device = devices[i % 2] as string;
      pairs.push(
        makePair({
          variant: "control",
          segment: { device },
          productionOutput: { label: "x", score: 0.5 },
          shadowOutput: { label: "x", score: 0.5 },
          productionLatencyMs: 10 + i,
          shadowLatencyMs: 12 + i,
        }),
        makePair({
          variant: "A",
          segment: { device },
          features: { length: i },
          productionOutput: { label: "x", score: 0.5 },
          shadowOutput: { label: device === "mobile" && i % 4 === 0 ? "y" : "x", score: 0.5 },
          productionLatencyMs: 10 + i,
          shadowLatencyMs: 20 + i,
        }),
        makePair({
          variant: "B",
          segment: { device },
          outcome: i < 4 ? "timeout" : i < 6 ? "error" : i < 8 ? "dropped" : "ok",
          productionOutput: { label: "x", score: 0.5 },
          shadowOutput: { label: "x", score: 0.6 },
          productionLatencyMs: 10 + i,
          shadowLatencyMs: 500 + 10 * i,
          warmup: i === 39,
          sideEffectAttempts: i === 10 ? 3 : 0,
        }),
      );
    }
    const aggregate = feed(
      createAggregate({ experiment: "ranker", controlVariant: "control" }),
      pairs,
    );
    aggregate.addExposure(
      makeExposure({
        seq: 1,
        entries: [{ segment: { device: "mobile" }, planned: { control: 20, A: 20, B: 25 } }],
      }),
    );
    aggregate.addExposure(
      makeExposure({
        seq: 3,
        entries: [{ segment: { device: "desktop" }, planned: { control: 20, A: 20, B: 25 } }],
      }),
    );
    const report = buildReport(aggregate);

    // The independent tally.
    const z = 1.959963984540054;
    const wilson = (x: number, n: number) => {
      const p = x / n;
      const c = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
      const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
      return [x === 0 ? 0 : c - h, x === n ? 1 : c + h];
    };
    const nearestRank = (values: number[], q: number) => {
      const s = [...values].sort((a, b) => a - b);
      return s[Math.ceil(q * s.length) - 1] as number;
    };

    expect(report.variants.map((v) => v.variant)).toEqual(["control", "A", "B"]);
    const [control, a, b] = report.variants as [
      (typeof report.variants)[0],
      (typeof report.variants)[0],
      (typeof report.variants)[0],
    ];

    expect(control.control).toBe(true);
    expect(control.divergence).toMatchObject({ successes: 0, trials: 40, rate: 0, bucket: "safe" });

    // A: mobile pairs with i % 4 === 0 → i ∈ {0, 4, …, 36}: 10 of 40 diverge, all on mobile.
    expect(a.pairs).toBe(40);
    expect(a.divergence.successes).toBe(10);
    expect(a.divergence.rate).toBe(0.25);
    expect(a.divergence.bucket).toBe("do_not_roll_out");
    const [lo, hi] = wilson(10, 40);
    expect(a.divergence.lower).toBeCloseTo(lo as number, 12);
    expect(a.divergence.upper).toBeCloseTo(hi as number, 12);
    const mobile = a.segments.find((s) => s.attribute === "device" && s.value === "mobile");
    const desktop = a.segments.find((s) => s.attribute === "device" && s.value === "desktop");
    expect(mobile?.divergence).toMatchObject({ successes: 10, trials: 20, rate: 0.5 });
    expect(desktop?.divergence).toMatchObject({ successes: 0, trials: 20 });
    expect(a.worstSegments[0]).toMatchObject({ attribute: "device", value: "mobile" });
    expect(a.fields).toEqual([
      expect.objectContaining({ field: "label", successes: 10, trials: 40 }),
      expect.objectContaining({ field: "score", successes: 0, trials: 40 }),
    ]);
    expect(a.similarity.mean).toBeCloseTo(30 / 40, 12);
    expect(a.vsControl).toMatchObject({ control: "control", controlDivergenceRate: 0 });
    expect(a.vsControl?.excessDivergence.estimate).toBeCloseTo(0.25, 12);
    expect(a.vsControl?.excessDivergence.lower).toBeGreaterThan(0);
    // Divergence is tied to `length` through i % 4 on mobile only: weak, but the feature is there.
    expect(a.features.numeric[0]?.feature).toBe("length");
    expect(a.features.numeric[0]?.n).toBe(40);

    // Latency: production p50/p95/p99 of 10..49, shadow of 20..59, within HDR's 1%.
    const prod = Array.from({ length: 40 }, (_, i) => 10 + i);
    const shadowA = Array.from({ length: 40 }, (_, i) => 20 + i);
    for (const q of [0.5, 0.95, 0.99] as const) {
      const key = q === 0.5 ? "p50" : q === 0.95 ? "p95" : "p99";
      expect(
        Math.abs((a.latencyMs.production[key] as number) / nearestRank(prod, q) - 1),
      ).toBeLessThan(0.01);
      expect(
        Math.abs((a.latencyMs.shadow[key] as number) / nearestRank(shadowA, q) - 1),
      ).toBeLessThan(0.01);
    }

    // B: 4 timeouts, 2 errors, 2 dropped, 32 ok; one warm-up pair out of latency.
    expect(b.outcomes).toEqual({
      ok: 32,
      error: 2,
      timeout: 4,
      dropped: 2,
      rejected_by_breaker: 0,
      skipped_unhealthy: 0,
    });
    expect(b.timeoutRate).toMatchObject({ successes: 4, trials: 40, rate: 0.1 });
    expect(b.errorRate.rate).toBe(0.05);
    expect(b.dropRate.rate).toBe(0.05);
    expect(b.divergence).toMatchObject({ successes: 32, trials: 32 }); // score 0.5 vs 0.6 > 0.05
    expect(b.warmup).toBe(1);
    expect(b.latencyMs.production.count).toBe(39);
    expect(b.latencyMs.shadow.count).toBe(31); // 32 ok minus the warm-up pair (i = 39)
    const shadowB = Array.from({ length: 31 }, (_, k) => 500 + 10 * (k + 8));
    expect(
      Math.abs((b.latencyMs.shadow.p99 as number) / nearestRank(shadowB, 0.99) - 1),
    ).toBeLessThan(0.01);
    expect(b.sideEffectAttempts).toBe(3);
    expect(b.pairsWithSideEffects).toBe(1);
    expect(b.dropReasons.pairs).toEqual({ queue_full: 2 });

    // Coverage: ok pairs ÷ planned mirrors.
    expect(control.coverage).toMatchObject({ okPairs: 40, plannedMirrors: 40, ratio: 1 });
    expect(b.coverage).toMatchObject({ okPairs: 32, plannedMirrors: 50, ratio: 0.64 });
    expect(mobile?.coverage.plannedMirrors).toBe(20);
    expect(report.exposure).toMatchObject({ sdkInstances: 1, lostExposureRecords: 1 }); // seq 2 missing
  });

  it("keeps a bounded reservoir of divergent examples per variant and per segment value", () => {
    const aggregate = createAggregate({ examplesPerVariant: 3, examplesPerSegment: 2 });
    for (let i = 0; i < 100; i++) {
      const p = makePair({
        segment: { device: i % 2 === 0 ? "mobile" : "desktop" },
        productionOutput: { label: "x", score: 0 },
        shadowOutput: { label: i % 2 === 0 ? "y" : "x", score: 0 },
        shadowLatencyMs: 1,
      });
      aggregate.addPair(p, comparator.comparePair(p));
    }
    expect(aggregate.examples("A")).toHaveLength(3);
    const mobile = aggregate.examples("A", { attribute: "device", value: "mobile" });
    expect(mobile).toHaveLength(2);
    expect(aggregate.examples("A", { attribute: "device", value: "desktop" })).toHaveLength(0);
    const example = mobile[0];
    expect(example).toMatchObject({
      variant: "A",
      segment: { device: "mobile" },
      production: { label: "x", score: 0 },
      shadow: { label: "y", score: 0 },
      divergentFields: { label: "label_mismatch" },
      input: { q: "hello" },
      truncated: false,
    });
    expect(JSON.parse(JSON.stringify(example))).toEqual(example);
  });

  it("stores examples as JSON-safe copies (typed arrays become arrays)", () => {
    const cosine = createOutputComparator({ outputs: { embedding: { kind: "cosine" } } });
    const aggregate = createAggregate();
    const p = makePair({
      productionOutput: { embedding: new Float32Array([1, 0]) },
      shadowOutput: { embedding: new Float32Array([0, 1]) },
    });
    aggregate.addPair(p, cosine.comparePair(p));
    expect(aggregate.examples("A")[0]?.shadow).toEqual({ embedding: [0, 1] });
  });

  it("refuses pairs of another experiment and counts pairs of another spec version apart", () => {
    const aggregate = createAggregate({ experiment: "ranker", specHash: "a".repeat(64) });
    expect(() => aggregate.addPair(makePair({ experiment: "other" }))).toThrow(UmbraError);
    expect(aggregate.addPair(makePair({ specHash: "b".repeat(64) }))).toBe(false);
    expect(aggregate.addPair(makePair({ specHash: "a".repeat(64) }))).toBe(true);
    expect(aggregate.counters.foreignSpecPairs).toBe(1);
  });

  it("bounds variants, segment values and features, counting what did not fit", () => {
    const aggregate = createAggregate({
      maxVariants: 2,
      maxSegmentValues: 2,
      maxNumericFeatures: 1,
      maxCategoricalFeatures: 0,
    });
    for (const variant of ["A", "B", "C"]) aggregate.addPair(makePair({ variant }));
    expect(aggregate.variants).toEqual(["A", "B"]);
    expect(aggregate.counters.droppedVariantPairs).toBe(1);
    for (const device of ["d1", "d2", "d3", "d4"]) {
      const p = makePair({
        segment: { device },
        features: { a: 1, b: 2, c: "x" },
        productionOutput: { label: "x" },
        shadowOutput: { label: "x" },
      });
      aggregate.addPair(p, comparator.comparePair(p));
    }
    const report = buildReport(aggregate);
    const a = report.variants.find((v) => v.variant === "A");
    // The first three pairs carried no segment, so `device` is counted from the fourth on.
    expect(a?.segments.map((s) => [s.value, s.pairs])).toEqual([
      ["__other__", 2],
      ["d1", 1],
      ["d2", 1],
    ]);
    expect(a?.featureOverflow).toBe(8); // b and c on each of the 4 compared pairs
  });

  it("declared segment values always get their own row", () => {
    const aggregate = createAggregate({
      segments: [{ attribute: "device", values: ["tv"] }],
      maxSegmentValues: 1,
    });
    aggregate.addPair(makePair({ segment: { device: "mobile", region: "eu" } }));
    aggregate.addPair(makePair({ segment: { device: "tv" } }));
    const a = buildReport(aggregate).variants[0];
    expect(a?.segments.map((s) => [s.attribute, s.value, s.pairs])).toEqual([
      ["device", "__other__", 1],
      ["device", "tv", 1],
    ]);
  });

  it("merged from parts equals one aggregate fed everything", () => {
    fc.assert(
      fc.property(
        fc.array(pairSpec, { maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
        (specs, sides) => {
          const pairs = specs.map((s) => makePair(s));
          const left = pairs.filter((_, i) => sides[i]);
          const right = pairs.filter((_, i) => !sides[i]);
          const all = feed(createAggregate(smallOptions), pairs);
          const merged = mergeAggregates(
            feed(createAggregate({ ...smallOptions, seed: 1 }), left),
            feed(createAggregate({ ...smallOptions, seed: 2 }), right),
          );
          expectClose(comparable(merged), comparable(all));
          expectClose(buildReport(merged), buildReport(all));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("round-trips through JSON exactly", () => {
    fc.assert(
      fc.property(fc.array(pairSpec, { maxLength: 60 }), (specs) => {
        const aggregate = feed(
          createAggregate(smallOptions),
          specs.map((s) => makePair(s)),
        );
        aggregate.addExposure(
          makeExposure({
            seq: 2,
            entries: [
              { segment: { device: "tv" }, planned: { A: 3 }, dropped: { A: { queue_full: 1 } } },
            ],
          }),
        );
        const json = JSON.parse(JSON.stringify(aggregate.toJSON()));
        const back = aggregateFromJSON(json);
        expect(back.toJSON()).toEqual(aggregate.toJSON());
        expect(buildReport(back)).toEqual(buildReport(aggregate));
      }),
      { numRuns: 30 },
    );
  });

  it("resumed from a checkpoint ends identical to an uninterrupted run, examples included", () => {
    fc.assert(
      fc.property(fc.array(pairSpec, { maxLength: 80 }), fc.nat(80), (specs, cut) => {
        const pairs = specs.map((s) => makePair(s));
        const straight = feed(createAggregate(smallOptions), pairs);
        const first = feed(createAggregate(smallOptions), pairs.slice(0, cut));
        const resumed = aggregateFromJSON(JSON.parse(JSON.stringify(first)));
        feed(resumed, pairs.slice(cut));
        expect(JSON.parse(JSON.stringify(resumed))).toEqual(JSON.parse(JSON.stringify(straight)));
      }),
      { numRuns: 30 },
    );
  });

  it("refuses to merge aggregates with different options, naming the option", () => {
    expect(() =>
      mergeAggregates(
        createAggregate({ similarityBins: 10 }),
        createAggregate({ similarityBins: 20 }),
      ),
    ).toThrow("/options/similarityBins");
  });

  it("refuses bad options and bad snapshots, naming the field", () => {
    expect(() => createAggregate({ maxVariants: 0 })).toThrow("/options/maxVariants: must be >= 1");
    expect(() => createAggregate({ segments: [{ attribute: "a" }, { attribute: "a" }] })).toThrow(
      "/options/segments/1/attribute",
    );
    const json = createAggregate().toJSON();
    expect(() => aggregateFromJSON({ ...json, format: "x" })).toThrow("/format");
    expect(() => aggregateFromJSON({ ...json, version: 2 })).toThrow(
      expect.objectContaining({ code: "unsupported_version" }),
    );
    const withPair = createAggregate();
    withPair.addPair(makePair());
    const broken = JSON.parse(JSON.stringify(withPair));
    broken.variants.A.total.pairs = -1;
    expect(() => aggregateFromJSON(broken)).toThrow("/variants/A/total/pairs");
  });

  it("is not fooled by attribute or outcome names that exist on Object.prototype", () => {
    const aggregate = createAggregate({ segments: [{ attribute: "constructor" }] });
    aggregate.addPair(makePair({ segment: { device: "tv" } }));
    expect(
      JSON.parse(JSON.stringify(aggregate)).variants.A.segments.constructor.cells,
    ).toHaveProperty("__missing__");
    const odd = makePair();
    (odd.shadow as { outcome: string }).outcome = "toString";
    expect(() => aggregate.addPair(odd)).toThrow("/shadow/outcome");
  });

  it("keeps a bounded timeline, folding the oldest buckets together", () => {
    const aggregate = createAggregate({ timeBucketMs: 1000, maxTimeBuckets: 3 });
    for (let s = 0; s < 6; s++) aggregate.addPair(makePair({ requestTimestampMs: NOW + s * 1000 }));
    aggregate.addPair(makePair({ requestTimestampMs: NOW })); // late: goes to the fold
    const timeline = buildReport(aggregate).variants[0]?.timeline;
    expect(timeline?.map((p) => [p.startMs === null ? null : p.startMs - NOW, p.pairs])).toEqual([
      [null, 4],
      [3000, 1],
      [4000, 1],
      [5000, 1],
    ]);
  });
});

describe("aggregateOptionsFromSpec", () => {
  it("takes the experiment, spec hash, control and segments from the spec", () => {
    const spec = {
      schema: 1 as const,
      experiment: "ranker",
      live: "prod",
      variants: {
        prod: { target: { kind: "local" as const } },
        control: { target: { kind: "local" as const }, control: true },
        A: { target: { kind: "local" as const } },
      },
      outputs: { label: { kind: "label" as const } },
      segments: [{ attribute: "device", values: ["mobile"] }],
      criteria: { minSamples: 100, minDurationMs: 0 },
    };
    const options = aggregateOptionsFromSpec(spec, { timeBucketMs: 60_000 });
    expect(options).toMatchObject({
      experiment: "ranker",
      controlVariant: "control",
      segments: [{ attribute: "device", values: ["mobile"] }],
      timeBucketMs: 60_000,
    });
    expect(options.specHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
