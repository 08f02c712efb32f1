import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareCosine, cosineSimilarity } from "./cosine.ts";

describe("cosineSimilarity", () => {
  it("computes known cosines", () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toEqual({ cosine: 0 });
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toEqual({ cosine: 1 });
    expect(cosineSimilarity([1, 0], [-1, 0])).toEqual({ cosine: -1 });
    // [1, 2, 3]·[4, 5, 6] = 32; |a| = √14, |b| = √77 → 32/√1078.
    expect(cosineSimilarity([1, 2, 3], [4, 5, 6]).cosine).toBeCloseTo(32 / Math.sqrt(1078), 14);
  });

  it("accepts Float32Array and number[] alike", () => {
    const c = cosineSimilarity(new Float32Array([3, 4]), [4, 3]).cosine;
    expect(c).toBeCloseTo(24 / 25, 7);
  });

  it("gives zero_vector for a zero vector and says whether both are zero", () => {
    expect(cosineSimilarity([0, 0], [1, 2])).toEqual({
      cosine: null,
      reason: "zero_vector",
      bothZero: false,
    });
    expect(cosineSimilarity([0, 0], [0, 0])).toEqual({
      cosine: null,
      reason: "zero_vector",
      bothZero: true,
    });
    expect(cosineSimilarity([], [])).toMatchObject({ cosine: null, reason: "zero_vector" });
  });

  it("gives non_finite for NaN or Infinity components", () => {
    expect(cosineSimilarity([1, Number.NaN], [1, 2])).toEqual({
      cosine: null,
      reason: "non_finite",
    });
    expect(cosineSimilarity([1, 2], new Float32Array([Number.POSITIVE_INFINITY, 1]))).toEqual({
      cosine: null,
      reason: "non_finite",
    });
  });

  it("gives length_mismatch for vectors of different lengths", () => {
    expect(cosineSimilarity([1, 2, 3], [1, 2])).toEqual({
      cosine: null,
      reason: "length_mismatch",
    });
  });

  it("gives not_a_vector for anything that is not a vector of numbers", () => {
    expect(cosineSimilarity("abc", [1])).toEqual({ cosine: null, reason: "not_a_vector" });
    expect(cosineSimilarity([1, "2"], [1, 2])).toEqual({ cosine: null, reason: "not_a_vector" });
    expect(cosineSimilarity(null, undefined)).toEqual({ cosine: null, reason: "not_a_vector" });
  });

  it("survives magnitudes whose squares overflow or underflow", () => {
    expect(cosineSimilarity([1e200, 1e200], [1e200, 0]).cosine).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosineSimilarity([1e-200, 1e-200], [1e-200, 0]).cosine).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it("never throws and always stays within [-1, 1] on arbitrary input", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double(), { maxLength: 8 }),
        fc.array(fc.double(), { maxLength: 8 }),
        (a, b) => {
          const r = cosineSimilarity(a, b);
          if (r.cosine !== null) {
            expect(r.cosine).toBeGreaterThanOrEqual(-1);
            expect(r.cosine).toBeLessThanOrEqual(1);
          } else {
            expect(typeof r.reason).toBe("string");
          }
        },
      ),
    );
  });
});

describe("compareCosine", () => {
  it("is divergent below minSimilarity, with the raw cosine as score", () => {
    expect(compareCosine([1, 0], [0.6, 0.8], 0.95)).toEqual({
      divergent: true,
      similarity: 0.6,
      score: 0.6,
      reason: "below_threshold",
    });
    expect(compareCosine([1, 0], [0.6, 0.8], 0.6)).toEqual({
      divergent: false,
      similarity: 0.6,
      score: 0.6,
    });
  });

  it("grades opposite directions as similarity 0 while keeping the negative score", () => {
    expect(compareCosine([1, 0], [-1, 0])).toMatchObject({
      divergent: true,
      similarity: 0,
      score: -1,
    });
  });

  it("gives a clear outcome instead of a throw for zero vectors, NaN and length mismatch", () => {
    expect(compareCosine([0, 0], [1, 1])).toEqual({
      divergent: true,
      similarity: null,
      reason: "zero_vector",
    });
    expect(compareCosine([0, 0], [0, 0])).toEqual({
      divergent: false,
      similarity: null,
      reason: "zero_vector",
    });
    expect(compareCosine([Number.NaN], [1])).toEqual({
      divergent: true,
      similarity: null,
      reason: "non_finite",
    });
    expect(compareCosine([1, 2], [1, 2, 3])).toEqual({
      similarity: null,
      divergent: true,
      reason: "length_mismatch",
    });
  });
});
