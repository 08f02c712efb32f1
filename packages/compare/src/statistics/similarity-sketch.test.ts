import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSimilaritySketch, similaritySketchFromJSON } from "./similarity-sketch.ts";

const similarity = fc.double({ min: 0, max: 1, noNaN: true });

function nearestRank(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

describe("SimilaritySketch", () => {
  it("answers quantiles within half a bin of the exact nearest-rank quantile", () => {
    fc.assert(
      fc.property(
        fc.array(similarity, { minLength: 1, maxLength: 300 }),
        fc.constantFrom(10, 100, 1000),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, bins, q) => {
          const s = createSimilaritySketch(bins);
          for (const v of values) s.add(v);
          const sorted = [...values].sort((a, b) => a - b);
          const exact = nearestRank(sorted, q);
          expect(Math.abs((s.quantile(q) as number) - exact)).toBeLessThanOrEqual(
            0.5 / bins + 1e-12,
          );
        },
      ),
    );
  });

  it("answers exactly 1 when every similarity is 1 (quantiles are clamped to [min, max])", () => {
    const s = createSimilaritySketch();
    for (let i = 0; i < 100; i++) s.add(1);
    expect(s.summary()).toEqual({
      count: 100,
      mean: 1,
      min: 1,
      p01: 1,
      p05: 1,
      p10: 1,
      p50: 1,
      p90: 1,
      max: 1,
    });
  });

  it("clamps values outside [0, 1], counts NaN as invalid and is empty-safe", () => {
    const s = createSimilaritySketch(10);
    expect(s.quantile(0.5)).toBeNull();
    expect(s.mean).toBeNull();
    s.add(-3);
    s.add(7);
    s.add(Number.NaN);
    expect(s.count).toBe(2);
    expect(s.invalid).toBe(1);
    expect([s.min, s.max]).toEqual([0, 1]);
  });

  it("estimates the share below a threshold at bin resolution", () => {
    const s = createSimilaritySketch(100);
    for (const v of [0.1, 0.2, 0.85, 0.95, 0.99]) s.add(v);
    expect(s.fractionBelow(0.9)).toBe(0.6);
  });

  it("merged from parts equals one sketch fed everything", () => {
    fc.assert(
      fc.property(fc.array(similarity), fc.array(similarity), (xs, ys) => {
        const a = createSimilaritySketch(50);
        const b = createSimilaritySketch(50);
        const all = createSimilaritySketch(50);
        for (const x of xs) a.add(x);
        for (const y of ys) b.add(y);
        for (const v of [...xs, ...ys]) all.add(v);
        const merged = a.clone().merge(b).toJSON();
        const expected = all.toJSON();
        expect({ ...merged, sum: 0 }).toEqual({ ...expected, sum: 0 });
        expect(merged.sum).toBeCloseTo(expected.sum, 9);
      }),
    );
  });

  it("round-trips through JSON, listing only non-empty bins", () => {
    const s = createSimilaritySketch(10);
    for (const v of [0.05, 0.05, 0.55, 1]) s.add(v);
    const json = JSON.parse(JSON.stringify(s));
    expect(json.counts).toEqual([
      [0, 2],
      [5, 1],
      [9, 1],
    ]);
    expect(similaritySketchFromJSON(json).toJSON()).toEqual(s.toJSON());
  });

  it("refuses a snapshot whose counts do not add up, naming the field", () => {
    const json = createSimilaritySketch(10).toJSON();
    expect(() => similaritySketchFromJSON({ ...json, count: 1 }, "/s")).toThrow("/s/count");
    expect(() =>
      similaritySketchFromJSON({ ...json, count: 1, min: 0, max: 0, counts: [[10, 1]] }, "/s"),
    ).toThrow("/s/counts/0/0");
    expect(() => createSimilaritySketch(10).merge(createSimilaritySketch(20))).toThrow("bins");
  });
});
