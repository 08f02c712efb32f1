import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { createOutputComparator } from "./output-comparator.ts";

describe("createOutputComparator", () => {
  const comparator = createOutputComparator({
    outputs: {
      label: { kind: "label" },
      embedding: { kind: "cosine", minSimilarity: 0.95 },
      "/meta/version": { kind: "exact" },
    },
  });

  it("compares each field with its own comparator and combines them", () => {
    const r = comparator.compare(
      { label: "cat", embedding: [1, 0], meta: { version: 1 } },
      { label: "cat", embedding: [0.6, 0.8], meta: { version: 1 } },
    );
    expect(r.divergent).toBe(true);
    expect(r.divergentFields).toEqual(["embedding"]);
    expect(r.similarity).toBeCloseTo(0.6, 12);
    expect(r.fields.label).toEqual({ divergent: false, similarity: 1 });
    expect(r.fields["/meta/version"]).toEqual({ divergent: false, similarity: 1 });
    expect(r.fields.embedding).toMatchObject({ divergent: true, reason: "below_threshold" });
  });

  it("is not divergent when every field agrees", () => {
    const out = { label: "cat", embedding: [1, 0], meta: { version: 2 } };
    expect(comparator.compare(out, structuredClone(out))).toEqual({
      divergent: false,
      similarity: 1,
      divergentFields: [],
      fields: {
        label: { divergent: false, similarity: 1 },
        embedding: { divergent: false, similarity: 1, score: 1 },
        "/meta/version": { divergent: false, similarity: 1 },
      },
    });
  });

  it("treats a field missing on one side as divergent and on both sides as equal", () => {
    const r = comparator.compare({ label: "cat" }, { embedding: [1] });
    expect(r.fields.label).toMatchObject({ divergent: true, reason: "missing_in_shadow" });
    expect(r.fields.embedding).toMatchObject({ divergent: true, reason: "missing_in_production" });
    expect(r.fields["/meta/version"]).toEqual({ divergent: false, similarity: 1 });
  });

  it("compares the whole output under the field name $", () => {
    const text = createOutputComparator({ outputs: { $: { kind: "rougeL", minScore: 0.5 } } });
    expect(text.compare("police killed the gunman", "police kill the gunman")).toMatchObject({
      divergent: false,
      similarity: 0.75,
    });
  });

  it("compares a pair record only when the shadow answered and production did not fail", () => {
    const production = { output: { label: "a", embedding: [1], meta: { version: 1 } } };
    expect(comparator.comparePair({ production, shadow: { outcome: "timeout" } })).toBeUndefined();
    expect(
      comparator.comparePair({
        production: { ...production, error: { code: "x", message: "y" } },
        shadow: { outcome: "ok", output: production.output },
      }),
    ).toBeUndefined();
    expect(
      comparator.comparePair({ production, shadow: { outcome: "ok", output: production.output } })
        ?.divergent,
    ).toBe(false);
  });

  it("refuses a bad field config naming /outputs/<field>/<option>", () => {
    expect(() =>
      createOutputComparator({ outputs: { "a/b": { kind: "cosine", minSimilarity: 3 } } }),
    ).toThrow(UmbraError);
    try {
      createOutputComparator({ outputs: { "a/b": { kind: "cosine", minSimilarity: 3 } } });
    } catch (e) {
      expect((e as UmbraError).field).toBe("/outputs/a~1b/minSimilarity");
    }
    expect(() => createOutputComparator({ outputs: {} })).toThrow("/outputs");
  });
});
