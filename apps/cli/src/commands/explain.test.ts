import type { DecisionRecord } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { renderExplanation } from "./explain.ts";

const T = Date.UTC(2026, 2, 1, 10, 0, 0);

function record(specHash: string, seq: number, fields: Partial<DecisionRecord>): DecisionRecord {
  return {
    schema: 1,
    kind: "decision",
    experiment: "ranker",
    specHash,
    atMs: T + seq * 1_000,
    seq,
    from: "shadow",
    to: "shadow",
    outcome: "inconclusive",
    rule: "requirement.min_samples",
    reason: "A waits: 10 of 50 compared pairs.",
    actor: "collector",
    evidence: { variant: "A", decision: "wait" },
    ...fields,
  };
}

describe("renderExplanation", () => {
  it("tells each spec version's story in words, oldest version first, repeats folded", () => {
    const v1 = "1".repeat(64);
    const v2 = "2".repeat(64);
    const text = renderExplanation(
      [
        record(v1, 1, {
          rule: "spec.start",
          from: "none",
          evidence: { variant: "experiment", decision: "start" },
          reason: "Experiment version 111111111111 started.",
        }),
        record(v1, 2, {}),
        record(v1, 3, {}),
        record(v2, 1, {
          rule: "spec.new_version",
          evidence: { variant: "experiment", decision: "new_version" },
          reason: "Spec changed: evidence is not reused.",
        }),
      ],
      4,
    );
    const blocks = text.trim().split("\n\n");
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toContain("ranker (spec 111111111111): 3 decisions");
    expect(blocks[0]).toContain(
      "#2  A  shadow  wait  by collector (×2 until 2026-03-01 10:00:03Z)",
    );
    expect(blocks[1]).toContain("ranker (spec 222222222222): 1 decision");
    expect(blocks[1]).toContain("evidence is not reused");
  });

  it("says when older records were left out, and when there are none", () => {
    expect(renderExplanation([record("1".repeat(64), 9, {})], 9)).toContain(
      "(8 older records not shown; --limit to see more)",
    );
    expect(renderExplanation([], 0)).toBe("no decisions yet\n");
  });
});
