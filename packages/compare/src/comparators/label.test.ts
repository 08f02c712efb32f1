import { describe, expect, it } from "vitest";
import { compareLabels, rankedLabels } from "./label.ts";

describe("rankedLabels", () => {
  it("reads labels from every supported output shape", () => {
    expect(rankedLabels("spam", 3)).toEqual(["spam"]);
    expect(rankedLabels({ label: "ham", score: 0.8 }, 3)).toEqual(["ham"]);
    expect(rankedLabels(["a", "b", "c", "d"], 2)).toEqual(["a", "b"]);
    expect(
      rankedLabels(
        [
          { label: "cat", score: 0.2 },
          { label: "dog", probability: 0.7 },
          { label: "fox", confidence: 0.1 },
        ],
        2,
      ),
    ).toEqual(["dog", "cat"]);
    // A score vector ranks class indices; ties keep the lower index first.
    expect(rankedLabels(new Float32Array([0.1, 0.5, 0.5, 0.2]), 3)).toEqual([1, 2, 3]);
    expect(rankedLabels([0.3, 0.7], 1)).toEqual([1]);
  });

  it("answers undefined when no label can be read", () => {
    expect(rankedLabels(null, 1)).toBeUndefined();
    expect(rankedLabels({ value: 1 }, 1)).toBeUndefined();
    expect(rankedLabels([], 1)).toBeUndefined();
    expect(rankedLabels([{ name: "x" }], 1)).toBeUndefined();
  });
});

describe("compareLabels", () => {
  it("agrees when the top labels are equal and diverges when they differ", () => {
    expect(compareLabels("spam", { label: "spam", score: 0.6 })).toEqual({
      divergent: false,
      similarity: 1,
    });
    expect(compareLabels([0.9, 0.1], [0.4, 0.6])).toEqual({
      divergent: true,
      similarity: 0,
      reason: "label_mismatch",
    });
  });

  it("grades top-k overlap and diverges below minOverlap", () => {
    const a = ["a", "b", "c"];
    expect(compareLabels(a, ["a", "c", "x"], { topK: 3 })).toEqual({
      divergent: false,
      similarity: 2 / 3,
    });
    expect(compareLabels(a, ["a", "x", "y"], { topK: 3, minOverlap: 0.5 })).toEqual({
      divergent: true,
      similarity: 1 / 3,
      reason: "top_k_overlap_below",
    });
    expect(compareLabels(a, ["b", "a", "c"], { topK: 3 })).toEqual({
      divergent: true,
      similarity: 1,
      reason: "label_mismatch",
    });
  });

  it("answers no_label for unreadable outputs", () => {
    expect(compareLabels(undefined, "a")).toEqual({
      divergent: true,
      similarity: null,
      reason: "no_label",
    });
  });
});
