import type { DecisionRecord } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { createDecisionEngine } from "./decision-engine.ts";
import { candidate, evidence, MIN, T0, testSpec } from "./decision-fixtures.ts";
import { explainDecisions } from "./explain-decisions.ts";

const engine = createDecisionEngine({ spec: testSpec() });

function history(): DecisionRecord[] {
  const records: DecisionRecord[] = [];
  let state = engine.start(T0);
  for (let minute = 1; minute <= 12; minute++) {
    const compared = minute * 2_000;
    const windowStartMs = state.candidates.A?.stageStartedMs ?? T0;
    const e = engine.evaluate(
      state,
      evidence(engine.specHash, {
        A: candidate({
          compared,
          windowStartMs,
          split: { candidateRequests: 100, totalRequests: 1_000 },
        }),
        B: candidate({ compared, mobile: { divergenceRate: minute > 3 ? 0.5 : 0.02 } }),
      }),
      T0 + minute * MIN,
    );
    records.push(...e.records);
    state = e.nextState;
  }
  const held = engine.command(
    state,
    { kind: "hold", variant: "A", actor: "human:ana" },
    T0 + 13 * MIN,
  );
  records.push(...held.records);
  return records;
}

describe("explainDecisions", () => {
  it("tells the history in words, one line per decision, folding repeats", () => {
    const text = explainDecisions(history());
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^ranker \(spec [0-9a-f]{12}\): \d+ decisions$/);
    // A waited for the minimum duration for nine ticks, then was promoted.
    expect(text).toMatch(
      /#1 {2}A {2}shadow {2}wait {2}by collector \(×9 until 2026-03-01 10:09:00Z\) — A waits: /,
    );
    expect(text).toMatch(
      /A {2}shadow → live-10 {2}promote {2}by collector — A passed every criterion/,
    );
    expect(text).toMatch(
      /B {2}shadow → rejected {2}reject {2}by collector — B rejected in shadow: divergence rate on device=mobile/,
    );
    expect(text).toMatch(/A {2}live-10 → held {2}hold {2}by human:ana — human:ana ran hold on A/);
  });

  it("lists every evaluation when asked not to fold", () => {
    const records = history();
    expect(explainDecisions(records, { collapse: false }).split("\n")).toHaveLength(
      records.length + 1,
    );
  });

  it("says so when there is nothing to explain", () => {
    expect(explainDecisions([])).toBe("no decisions yet");
  });
});
