import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { type ComparatorConfig, createComparator } from "./comparator.ts";

describe("exact comparator", () => {
  const exact = createComparator({ kind: "exact" });

  it("finds deep equality, with NaN equal to NaN and typed arrays compared by value", () => {
    expect(
      exact.compare(
        { a: [1, { b: Number.NaN }], e: new Float32Array([1, 2]) },
        { a: [1, { b: Number.NaN }], e: new Float32Array([1, 2]) },
      ),
    ).toEqual({ divergent: false, similarity: 1 });
  });

  it("lists field-level differences as JSON pointers, escaping ~ and /", () => {
    const r = exact.compare(
      { label: "cat", scores: [0.1, 0.9], meta: { "a/b": 1, "t~": 2 } },
      { label: "dog", scores: [0.1, 0.9, 0.0], meta: { "a/b": 1, "t~": 3 }, extra: true },
    );
    expect(r).toEqual({
      divergent: true,
      similarity: 0,
      reason: "values_differ",
      diffCount: 4,
      diff: [
        { path: "/label", production: "cat", shadow: "dog" },
        { path: "/scores/2", production: undefined, shadow: 0 },
        { path: "/meta/t~0", production: 2, shadow: 3 },
        { path: "/extra", production: undefined, shadow: true },
      ],
    });
  });

  it("treats a key holding undefined as absent", () => {
    expect(exact.compare({ a: 1, b: undefined }, { a: 1 })).toEqual({
      divergent: false,
      similarity: 1,
    });
  });

  it("bounds the diff list by maxDiffs but counts every difference", () => {
    const c = createComparator({ kind: "exact", maxDiffs: 2 });
    const r = c.compare([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]);
    expect(r.diff).toHaveLength(2);
    expect(r.diffCount).toBe(5);
  });

  it("skips ignore paths, with * matching any array item", () => {
    const c = createComparator({
      kind: "exact",
      ignorePaths: ["/requestId", "/items/*/score", "/a~1b"],
    });
    expect(
      c.compare(
        { requestId: "r1", items: [{ id: 1, score: 0.5 }], "a/b": 1 },
        { requestId: "r2", items: [{ id: 1, score: 0.7 }], "a/b": 2 },
      ),
    ).toEqual({ divergent: false, similarity: 1 });
    expect(
      c.compare({ items: [{ id: 1, score: 0.5 }] }, { items: [{ id: 2, score: 0.7 }] }).diff,
    ).toEqual([{ path: "/items/0/id", production: 1, shadow: 2 }]);
  });

  it("compares Dates by time and survives absurdly deep values", () => {
    expect(exact.compare(new Date(5), new Date(5)).divergent).toBe(false);
    let a: unknown = 1;
    let b: unknown = 1;
    for (let i = 0; i < 10_000; i++) {
      a = [a];
      b = [b];
    }
    expect(exact.compare(a, b).divergent).toBe(true); // beyond depth 64 compared by reference
  });
});

describe("structured comparator", () => {
  it("grades by the share of equal leaves and diverges below minSimilarity", () => {
    const strict = createComparator({ kind: "structured" });
    const r = strict.compare({ a: 1, b: 2, c: [3, 4] }, { a: 1, b: 9, c: [3, 4] });
    expect(r).toMatchObject({ divergent: true, similarity: 3 / 4, diffCount: 1 });
    const lenient = createComparator({ kind: "structured", minSimilarity: 0.7 });
    const l = lenient.compare({ a: 1, b: 2, c: [3, 4] }, { a: 1, b: 9, c: [3, 4] });
    expect(l.divergent).toBe(false);
    expect(l.similarity).toBe(0.75);
    expect(l.diff).toEqual([{ path: "/b", production: 2, shadow: 9 }]);
  });
});

describe("custom comparator", () => {
  it("calls the registered function", () => {
    const c = createComparator(
      { kind: "custom", name: "sameLength" },
      {
        customComparators: {
          sameLength: (p, s) => ({
            divergent: String(p).length !== String(s).length,
            similarity: null,
          }),
        },
      },
    );
    expect(c.compare("abc", "xyz")).toEqual({ divergent: false, similarity: null });
  });

  it("turns a throw or a malformed result into comparator_error", () => {
    const c = createComparator(
      { kind: "custom", name: "bad" },
      {
        customComparators: {
          bad: (p) => {
            if (p === 1) throw new Error("boom");
            return { divergent: "no" } as never;
          },
        },
      },
    );
    const expected = { divergent: true, similarity: null, reason: "comparator_error" };
    expect(c.compare(1, 1)).toEqual(expected);
    expect(c.compare(2, 2)).toEqual(expected);
  });
});

describe("createComparator validation", () => {
  const bad: [ComparatorConfig, string][] = [
    [{ kind: "cosine", minSimilarity: 2 }, "/outputs/x/minSimilarity"],
    [{ kind: "numeric", absTolerance: -1 }, "/outputs/x/absTolerance"],
    [{ kind: "rougeL", minScore: Number.NaN }, "/outputs/x/minScore"],
    [{ kind: "label", topK: 0 }, "/outputs/x/topK"],
    [{ kind: "label", minOverlap: 0.5 }, "/outputs/x/minOverlap"],
    [{ kind: "exact", ignorePaths: ["items"] }, "/outputs/x/ignorePaths/0"],
    [{ kind: "custom", name: "missing" }, "/outputs/x/name"],
    [{ kind: "fuzzy" } as unknown as ComparatorConfig, "/outputs/x/kind"],
  ];
  it.each(bad)("refuses %j naming the field", (config, field) => {
    let error: unknown;
    try {
      createComparator(config, { path: "/outputs/x" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UmbraError);
    expect(error).toMatchObject({ code: "invalid_argument", field });
  });
});
