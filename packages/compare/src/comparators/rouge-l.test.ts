import { describe, expect, it } from "vitest";
import { compareRougeL, lcsLength, rougeL, tokenize } from "./rouge-l.ts";

describe("tokenize", () => {
  it("lowercases and splits on everything that is not a Unicode letter, mark or digit", () => {
    expect(tokenize("The quick brown dog jumps on the log.")).toEqual([
      "the",
      "quick",
      "brown",
      "dog",
      "jumps",
      "on",
      "the",
      "log",
    ]);
    expect(tokenize("Straße 12—Zürich, naïve café!")).toEqual([
      "straße",
      "12",
      "zürich",
      "naïve",
      "café",
    ]);
    expect(tokenize("  ...  ")).toEqual([]);
  });

  it("keeps combining marks inside their word", () => {
    // "é" written as e + U+0301 COMBINING ACUTE ACCENT stays one token.
    expect(tokenize("cafe\u0301 ok")).toEqual(["cafe\u0301", "ok"]);
  });
});

describe("lcsLength", () => {
  it("finds the longest common subsequence of two sequences", () => {
    expect(lcsLength([1, 2, 3, 4], [2, 4])).toBe(2);
    expect(lcsLength([1, 2, 3], [3, 2, 1])).toBe(1);
    expect(lcsLength([], [1])).toBe(0);
    // ABCBDAB vs BDCABA: LCS length 4 (e.g. BCBA), the textbook example (CLRS §15.4).
    const code = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
    expect(lcsLength(code("ABCBDAB"), code("BDCABA"))).toBe(4);
  });
});

describe("rougeL", () => {
  it("scores Lin (2004)'s ROUGE-L examples: S2 = 3/4 and S3 = 2/4 against S1", () => {
    // Lin, "ROUGE: A Package for Automatic Evaluation of Summaries", 2004, §3.1:
    // reference S1 "police killed the gunman"; S2 "police kill the gunman" shares the LCS
    // "police the gunman" (3 of 4 words); S3 "the gunman kill police" shares "the gunman" (2).
    const s2 = rougeL("police killed the gunman", "police kill the gunman");
    expect(s2.lcs).toBe(3);
    expect(s2.precision).toBe(3 / 4);
    expect(s2.recall).toBe(3 / 4);
    expect(s2.fmeasure).toBeCloseTo(0.75, 12);
    const s3 = rougeL("police killed the gunman", "the gunman kill police");
    expect(s3.lcs).toBe(2);
    expect(s3.fmeasure).toBeCloseTo(0.5, 12);
  });

  it("matches the rouge-score package's documented example (P 0.625, R 0.5556, F 0.5882)", () => {
    // google-research/rouge RougeScorer docstring: score(target='The quick brown fox jumps over
    // the lazy dog', prediction='The quick brown dog jumps on the log.'). By hand: LCS =
    // "the quick brown jumps the" = 5 tokens; P = 5/8, R = 5/9, F = 2PR/(P+R) = 10/17.
    const s = rougeL(
      "The quick brown fox jumps over the lazy dog",
      "The quick brown dog jumps on the log.",
    );
    expect(s.lcs).toBe(5);
    expect(s.precision).toBeCloseTo(0.625, 12);
    expect(s.recall).toBeCloseTo(5 / 9, 12);
    expect(s.fmeasure).toBeCloseTo(10 / 17, 12);
    expect(s.fmeasure).toBeCloseTo(0.5882352941176471, 12);
  });

  it("scores two empty texts 1 and one empty text 0", () => {
    expect(rougeL("", "").fmeasure).toBe(1);
    expect(rougeL("hello", "").fmeasure).toBe(0);
    expect(rougeL("", "hello").fmeasure).toBe(0);
  });

  it("compares only the first maxTokens tokens", () => {
    expect(rougeL("a b c x", "a b c y", { maxTokens: 3 }).fmeasure).toBe(1);
  });
});

describe("compareRougeL", () => {
  it("is divergent below minScore and not at or above it", () => {
    const ref = "police killed the gunman";
    expect(compareRougeL(ref, "police kill the gunman", 0.75)).toEqual({
      divergent: false,
      similarity: 0.75,
    });
    expect(compareRougeL(ref, "police kill the gunman", 0.8)).toMatchObject({
      divergent: true,
      similarity: 0.75,
      reason: "below_threshold",
    });
  });

  it("answers not_text for values that are not strings", () => {
    expect(compareRougeL("a", 3)).toEqual({
      divergent: true,
      similarity: null,
      reason: "not_text",
    });
  });
});
