import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { createDecisionEngine } from "./decision-engine.ts";
import { candidate, evidence, MIN, T0, testSpec } from "./decision-fixtures.ts";
import type { DecisionState } from "./decision-state.ts";
import type { ManualCommand } from "./manual-command.ts";

const engine = createDecisionEngine({ spec: testSpec() });
const ana = "human:ana";

function run(state: DecisionState, kind: ManualCommand["kind"], variant = "A", atMs = T0 + MIN) {
  return engine.command(state, { kind, variant, actor: ana }, atMs);
}

function refusal(fn: () => unknown): UmbraError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UmbraError) return e;
    throw e;
  }
  throw new Error("expected the command to be refused");
}

function live(): DecisionState {
  return run(engine.start(T0), "promote").nextState;
}

describe("manual commands", () => {
  it("holds a candidate in shadow and approves it into the first live stage", () => {
    const held = run(engine.start(T0), "hold");
    expect(held.nextState.candidates.A).toMatchObject({
      phase: "held",
      stage: "held",
      heldFrom: { phase: "shadow", stage: "shadow" },
    });
    const approved = run(held.nextState, "approve", "A", T0 + 2 * MIN);
    expect(approved.nextState.candidates.A).toMatchObject({ phase: "live", stage: "live-10" });
    expect(approved.nextState.rollout).toBe("A");
    expect(approved.routingChanged).toBe(true);
  });

  it("promotes straight to the 100% stage, and from there to the watch", () => {
    const full = run(engine.start(T0), "promote");
    expect(full.nextState.candidates.A).toMatchObject({
      phase: "live",
      stage: "live-100",
      stageIndex: 1,
    });
    const watch = run(full.nextState, "promote", "A", T0 + 2 * MIN);
    expect(watch.nextState.candidates.A?.phase).toBe("watch");
    expect(watch.nextState).toMatchObject({ live: "A", previousLive: "prod" });
    const done = run(watch.nextState, "promote", "A", T0 + 3 * MIN);
    expect(done.nextState.candidates.A?.phase).toBe("done");
  });

  it("rolls a live candidate back to the last known good", () => {
    const back = run(live(), "rollback");
    expect(back.nextState.candidates.A?.phase).toBe("rolled_back");
    expect(back.nextState).toMatchObject({ live: "prod", rollout: null });
    expect(engine.routing(back.nextState).rollout).toBeUndefined();
  });

  it("rolls a finished promotion back one step, to the previous live variant", () => {
    let state = live();
    state = run(state, "promote", "A", T0 + 2 * MIN).nextState;
    state = run(state, "promote", "A", T0 + 3 * MIN).nextState;
    expect(state).toMatchObject({ live: "A", previousLive: "prod" });
    const back = run(state, "rollback", "A", T0 + 4 * MIN);
    expect(back.nextState).toMatchObject({ live: "prod", previousLive: null });
  });

  it("writes a manual record naming the actor, the rule and the note", () => {
    const r = engine.command(
      engine.start(T0),
      { kind: "hold", variant: "B", actor: ana, note: "waiting for the labels" },
      T0 + MIN,
    );
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({
      seq: 1,
      from: "shadow",
      to: "held",
      outcome: "manual",
      rule: "manual.hold",
      actor: ana,
      evidence: { variant: "B", command: "hold", note: "waiting for the labels" },
    });
    expect(r.records[0]?.reason).toMatch(/human:ana ran hold on B/);
    expect(r.nextState.seq).toBe(1);
  });

  it("refuses to approve a candidate that is not held, naming the rule", () => {
    const e = refusal(() => run(engine.start(T0), "approve"));
    expect(e.code).toBe("invalid_argument");
    expect(e.field).toBe("kind");
    expect(e.rule).toMatch(/approve releases a held candidate; A is shadow/);
  });

  it("refuses to roll back a candidate that never served live traffic", () => {
    expect(refusal(() => run(engine.start(T0), "rollback")).rule).toMatch(/hold it instead/);
  });

  it("refuses a second candidate into the rollout", () => {
    expect(refusal(() => run(live(), "promote", "B")).rule).toMatch(/A holds the rollout/);
  });

  it("refuses commands on finished candidates and a hold on a held one", () => {
    const back = run(live(), "rollback").nextState;
    expect(refusal(() => run(back, "rollback")).rule).toMatch(/already rolled_back/);
    expect(refusal(() => run(back, "hold")).rule).toMatch(/A is rolled_back/);
    expect(refusal(() => run(back, "promote")).rule).toMatch(/A is rolled_back/);
    const held = run(engine.start(T0), "hold").nextState;
    expect(refusal(() => run(held, "hold")).rule).toMatch(/already held/);
  });

  it("refuses an actor that is not a human and a variant that is not a candidate", () => {
    expect(
      refusal(() =>
        engine.command(engine.start(T0), { kind: "hold", variant: "A", actor: "collector" }, T0),
      ),
    ).toMatchObject({ code: "invalid_argument", field: "actor" });
    expect(
      refusal(() =>
        engine.command(engine.start(T0), { kind: "hold", variant: "prod", actor: ana }, T0),
      ),
    ).toMatchObject({ code: "not_found", field: "variant" });
  });

  it("lets harm roll back a candidate held in a live stage: holding pauses progress, not protection", () => {
    const held = run(live(), "hold").nextState;
    const startedMs = held.candidates.A?.stageStartedMs ?? 0;
    const e = engine.evaluate(
      held,
      evidence(engine.specHash, {
        A: candidate({ compared: 2_000, errorRate: 0.3, windowStartMs: startedMs }),
      }),
      T0 + 5 * MIN,
    );
    expect(e.candidates[0]).toMatchObject({
      decision: "rollback",
      from: "held",
      to: "rolled_back",
    });
  });
});
