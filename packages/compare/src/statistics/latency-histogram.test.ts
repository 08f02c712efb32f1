import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLatencyHistogram, latencyHistogramFromJSON } from "./latency-histogram.ts";

const latency = fc.double({ min: 0, max: 60_000, noNaN: true });

describe("LatencyHistogram", () => {
  it("reports p50/p95/p99 within the 2-significant-digit precision", () => {
    const h = createLatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i); // 1..1000 ms
    const s = h.summary();
    expect(s.count).toBe(1000);
    for (const [got, exact] of [
      [s.p50, 500],
      [s.p95, 950],
      [s.p99, 990],
      [s.max, 1000],
    ] as const) {
      expect(Math.abs((got as number) - exact) / exact).toBeLessThan(0.01);
    }
    expect(s.mean as number).toBeCloseTo(500.5, -1);
  });

  it("counts latencies above a limit, erring high by at most the 1% resolution", () => {
    const h = createLatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i); // 1..1000 ms
    for (const limit of [10, 100, 500, 990]) {
      const above = h.countAbove(limit);
      expect(above).toBeGreaterThanOrEqual(1000 - limit); // the values truly above
      expect(above).toBeLessThanOrEqual(1000 - Math.floor(limit / 1.01)); // at most 1% below
    }
    expect(h.countAbove(0)).toBe(1000);
    expect(h.countAbove(5000)).toBe(0);
    expect(createLatencyHistogram().countAbove(1)).toBe(0);
  });

  it("keeps sub-millisecond latencies at microsecond resolution", () => {
    const h = createLatencyHistogram(3);
    h.record(0.25);
    expect(h.percentile(50)).toBe(0.25);
  });

  it("refuses negative and NaN values and clamps absurd ones", () => {
    const h = createLatencyHistogram();
    h.record(-1);
    h.record(Number.NaN);
    h.record(1e12);
    expect(h.invalid).toBe(2);
    expect(h.clamped).toBe(1);
    expect(h.count).toBe(1);
  });

  it("is empty-safe", () => {
    expect(createLatencyHistogram().summary()).toEqual({
      count: 0,
      p50: null,
      p95: null,
      p99: null,
      max: null,
      mean: null,
    });
  });

  it("merged from parts equals one histogram fed everything", () => {
    fc.assert(
      fc.property(fc.array(latency), fc.array(latency), (xs, ys) => {
        const a = createLatencyHistogram();
        const b = createLatencyHistogram();
        const all = createLatencyHistogram();
        for (const x of xs) a.record(x);
        for (const y of ys) b.record(y);
        for (const v of [...xs, ...ys]) all.record(v);
        const merged = a.clone().merge(b);
        expect(merged.summary()).toEqual(all.summary());
        for (const p of [0, 10, 50, 90, 99.9, 100])
          expect(merged.percentile(p)).toBe(all.percentile(p));
      }),
      { numRuns: 50 },
    );
  });

  it("round-trips through JSON with the compressed HdrHistogram encoding", () => {
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 200 }), (xs) => {
        const h = createLatencyHistogram();
        for (const x of xs) h.record(x);
        const back = latencyHistogramFromJSON(JSON.parse(JSON.stringify(h)));
        expect(back.summary()).toEqual(h.summary());
        // Still growable after decoding: a value far above anything seen is accepted.
        back.record(3_000_000);
        expect(back.count).toBe(h.count + 1);
      }),
      { numRuns: 30 },
    );
  });

  it("refuses a snapshot whose encoding is broken or disagrees with its count", () => {
    const h = createLatencyHistogram();
    h.record(5);
    const json = h.toJSON();
    expect(() => latencyHistogramFromJSON({ ...json, hdr: "bm90IGhkcg==" }, "/l")).toThrow(
      "/l/hdr",
    );
    expect(() => latencyHistogramFromJSON({ ...json, count: 2 }, "/l")).toThrow("/l/count");
    expect(() => latencyHistogramFromJSON({ ...json, hdr: null }, "/l")).toThrow("/l/hdr");
    expect(() => createLatencyHistogram(2).merge(createLatencyHistogram(3))).toThrow();
  });
});
