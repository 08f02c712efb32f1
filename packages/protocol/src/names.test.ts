import { describe, expect, it } from "vitest";
import { isSubjectToken, pairMessageId, Subjects } from "./names.ts";

describe("subjects", () => {
  it("builds every subject from validated tokens", () => {
    expect(Subjects.pairs("ranker", "A")).toBe("umbra.pairs.ranker.A");
    expect(Subjects.exposures("ranker")).toBe("umbra.exposures.ranker");
    expect(Subjects.labels("ranker")).toBe("umbra.labels.ranker");
    expect(Subjects.decisions("ranker")).toBe("umbra.decisions.ranker");
    expect(Subjects.deadLetters("pairs")).toBe("umbra.dlq.pairs");
    expect(pairMessageId("ranker", "req-1", "A")).toBe("ranker/req-1:A");
    expect(pairMessageId("search", "req-1", "A")).not.toBe(pairMessageId("ranker", "req-1", "A"));
  });

  it.each(["", "a.b", "a b", "a*", "a>", "é", "x".repeat(65)])(
    "refuses %j as an experiment or variant name",
    (bad) => {
      expect(isSubjectToken(bad)).toBe(false);
      expect(() => Subjects.pairs(bad, "A")).toThrowError(/^experiment: must be 1-64 characters/);
      expect(() => Subjects.pairs("ranker", bad)).toThrowError(/^variant: /);
    },
  );
});
