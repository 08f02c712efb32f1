import { describe, expect, it } from "vitest";
import { compareNumeric, isClose } from "./numeric.ts";

describe("isClose", () => {
  it("applies |a - b| <= abs + rel * max(|a|, |b|), boundary included", () => {
    expect(isClose(1, 1.5, 0.5, 0)).toBe(true);
    expect(isClose(1, 1.5000001, 0.5, 0)).toBe(false);
    expect(isClose(100, 110, 0, 0.1)).toBe(true); // 10 <= 0.1 * 110
    expect(isClose(100, 112, 0, 0.1)).toBe(false); // 12 > 11.2
    expect(isClose(0, 1e-12, 0, 1e-9)).toBe(false); // relative tolerance alone never forgives 0
    expect(isClose(0, 1e-12, 1e-9, 0)).toBe(true);
  });

  it("treats NaN as equal to NaN only and infinities as equal only to themselves", () => {
    expect(isClose(Number.NaN, Number.NaN, 0, 0)).toBe(true);
    expect(isClose(Number.NaN, 1, 1e9, 1)).toBe(false);
    expect(isClose(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0, 0)).toBe(true);
    expect(isClose(Number.POSITIVE_INFINITY, 1e308, 0, 1)).toBe(false);
  });
});

describe("compareNumeric", () => {
  it("compares scalars within the default tolerance", () => {
    expect(compareNumeric(0.1 + 0.2, 0.3)).toEqual({ divergent: false, similarity: 1 });
    expect(compareNumeric(1, 1.001)).toMatchObject({
      divergent: true,
      similarity: 0,
      reason: "out_of_tolerance",
      diff: [{ path: "", production: 1, shadow: 1.001 }],
    });
  });

  it("compares arrays and typed arrays element-wise and lists the elements outside", () => {
    const r = compareNumeric([1, 2, 3, 4], new Float64Array([1, 2.5, 3, 5]), {
      absTolerance: 0.1,
    });
    expect(r).toEqual({
      divergent: true,
      similarity: 0.5,
      diff: [
        { path: "/1", production: 2, shadow: 2.5 },
        { path: "/3", production: 4, shadow: 5 },
      ],
      diffCount: 2,
      reason: "out_of_tolerance",
    });
  });

  it("walks nested arrays and keeps only maxDiffs entries while counting all", () => {
    const r = compareNumeric(
      [
        [1, 2],
        [3, 4],
      ],
      [
        [0, 0],
        [0, 0],
      ],
      { maxDiffs: 1 },
    );
    expect(r.diff).toEqual([{ path: "/0/0", production: 1, shadow: 0 }]);
    expect(r.diffCount).toBe(4);
    expect(r.similarity).toBe(0);
  });

  it("answers length_mismatch and not_numeric with similarity null", () => {
    expect(compareNumeric([1, 2], [1])).toEqual({
      divergent: true,
      similarity: null,
      reason: "length_mismatch",
    });
    expect(compareNumeric([1, "2"], [1, 2])).toEqual({
      divergent: true,
      similarity: null,
      reason: "not_numeric",
    });
    expect(compareNumeric({ a: 1 }, { a: 1 })).toMatchObject({ reason: "not_numeric" });
  });

  it("accepts bigint values as numbers", () => {
    expect(compareNumeric(10n, 10)).toEqual({ divergent: false, similarity: 1 });
  });
});
