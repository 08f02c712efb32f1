import { buildExperimentFlag, buildFlagFile, validateFlagFile } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { createDecisionEngine } from "./decision-engine.ts";
import { MIN, T0, testSpec } from "./decision-fixtures.ts";

const engine = createDecisionEngine({ spec: testSpec({ control: true }) });
const ana = "human:ana";

describe("routing", () => {
  it("mirrors every shadow candidate at its declared sample, and the control, in shadow", () => {
    expect(engine.routing(engine.start(T0))).toEqual({
      live: "prod",
      rollout: undefined,
      candidates: [
        { variant: "A", sampleBasisPoints: 10_000 },
        { variant: "B", sampleBasisPoints: 2_500 },
        { variant: "ctl", sampleBasisPoints: 10_000 },
      ],
      stage: "shadow",
    });
  });

  it("routes the stages, the watch and the end as the flag must say", () => {
    let state = engine.start(T0);
    state = engine.command(state, { kind: "hold", variant: "A", actor: ana }, T0).nextState;
    state = engine.command(
      state,
      { kind: "approve", variant: "A", actor: ana },
      T0 + MIN,
    ).nextState;
    const live = engine.routing(state);
    expect(live).toMatchObject({
      live: "prod",
      rollout: { variant: "A", basisPoints: 1_000 },
      stage: "live-10",
    });
    expect(live.candidates.map((c) => c.variant)).toEqual(["A", "B", "ctl"]);

    state = engine.command(
      state,
      { kind: "promote", variant: "A", actor: ana },
      T0 + 2 * MIN,
    ).nextState;
    state = engine.command(
      state,
      { kind: "promote", variant: "A", actor: ana },
      T0 + 3 * MIN,
    ).nextState;
    expect(engine.routing(state)).toEqual({
      live: "A",
      rollout: undefined,
      candidates: [{ variant: "prod", sampleBasisPoints: 10_000 }],
      stage: "watch",
    });

    state = engine.command(
      state,
      { kind: "promote", variant: "A", actor: ana },
      T0 + 4 * MIN,
    ).nextState;
    expect(engine.routing(state)).toEqual({
      live: "A",
      rollout: undefined,
      candidates: [],
      stage: "done",
    });
  });

  it("gives options that build a valid experiment flag in every phase", () => {
    let state = engine.start(T0);
    const steps = ["promote", "promote", "promote"] as const;
    const flags = [engine.routing(state)];
    steps.forEach((kind, i) => {
      state = engine.command(
        state,
        { kind, variant: "A", actor: ana },
        T0 + (i + 1) * MIN,
      ).nextState;
      flags.push(engine.routing(state));
    });
    for (const [i, routing] of flags.entries()) {
      const flag = buildExperimentFlag({
        experiment: "ranker",
        revision: i + 1,
        specHash: engine.specHash,
        ...routing,
      });
      const problems = validateFlagFile(buildFlagFile({ "umbra.ranker": flag }));
      expect(problems).toEqual([]);
    }
  });
});
