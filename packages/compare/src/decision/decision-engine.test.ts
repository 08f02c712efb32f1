import { specHash, UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import type { Check } from "./check.ts";
import { createDecisionEngine, type Evaluation } from "./decision-engine.ts";
import { candidate, evidence, MIN, T0, testSpec } from "./decision-fixtures.ts";
import type { DecisionState } from "./decision-state.ts";
import type { CandidateEvidence, ExperimentEvidence } from "./evidence.ts";

const spec = testSpec();
const engine = createDecisionEngine({ spec });
const hash = engine.specHash;
const passing = (patch: Parameters<typeof candidate>[0] | object = {}) =>
  candidate({ compared: 20_000, ...patch });

function tick(
  state: DecisionState,
  candidates: Record<string, CandidateEvidence>,
  atMs: number,
  patch: Partial<ExperimentEvidence> = {},
): Evaluation {
  return engine.evaluate(state, evidence(hash, candidates, patch), atMs);
}

function resultOf(e: Evaluation, variant = "A") {
  const r = e.candidates.find((c) => c.variant === variant);
  if (r === undefined) throw new Error(`no evaluation of ${variant}`);
  return r;
}

function check(e: Evaluation, id: string, variant = "A"): Check {
  const c = resultOf(e, variant).checks.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no check ${id}`);
  return c;
}

/** Walks A from shadow to the first live stage. */
function promoted(): DecisionState {
  const e = tick(engine.start(T0), { A: passing() }, T0 + 20 * MIN);
  expect(resultOf(e).decision).toBe("promote");
  return e.nextState;
}

describe("createDecisionEngine", () => {
  it("starts every candidate in shadow, leaving out the live variant and the control", () => {
    const withControl = createDecisionEngine({ spec: testSpec({ control: true }) });
    const state = withControl.start(T0);
    expect(Object.keys(state.candidates)).toEqual(["A", "B"]);
    expect(state.candidates.A).toMatchObject({
      phase: "shadow",
      stage: "shadow",
      stageStartedMs: T0,
    });
    expect(state).toMatchObject({
      live: "prod",
      rollout: null,
      seq: 0,
      specHash: specHash(withControl.spec),
    });
  });

  it("refuses a policy field it does not know, naming it", () => {
    expect(() => createDecisionEngine({ spec, policy: { maxLagMs: 1 } as never })).toThrow(
      /policy.maxLagMs/,
    );
  });
});

describe("criterion checks", () => {
  const at = T0 + 20 * MIN;
  const run = (c: CandidateEvidence) => tick(engine.start(T0), { A: c }, at);

  it("passes, fails and leaves inconclusive the divergence rate by its confidence sequence", () => {
    expect(check(run(passing({ divergenceRate: 0.03 })), "criterion.divergence").outcome).toBe(
      "pass",
    );
    expect(check(run(passing({ divergenceRate: 0.3 })), "criterion.divergence").outcome).toBe(
      "fail",
    );
    expect(
      check(run(candidate({ compared: 300, divergenceRate: 0.09 })), "criterion.divergence")
        .outcome,
    ).toBe("inconclusive");
  });

  it("passes, fails and leaves inconclusive the quality margin (non-inferiority)", () => {
    expect(check(run(passing({ qualityMean: 0 })), "criterion.quality").outcome).toBe("pass");
    expect(check(run(passing({ qualityMean: -0.1 })), "criterion.quality").outcome).toBe("fail");
    expect(check(run(passing({ qualityMean: -0.02 })), "criterion.quality").outcome).toBe(
      "inconclusive",
    );
  });

  it("tests p99 ≤ limit as at most 1% of latencies above the limit", () => {
    const pass = check(run(passing({ aboveLimitRate: 0.002 })), "criterion.latency_p99");
    expect(pass).toMatchObject({ outcome: "pass", limit: 0.01 });
    expect(check(run(passing({ aboveLimitRate: 0.03 })), "criterion.latency_p99").outcome).toBe(
      "fail",
    );
    expect(check(run(passing({ aboveLimitRate: 0.01 })), "criterion.latency_p99").outcome).toBe(
      "inconclusive",
    );
  });

  it("passes, fails and leaves inconclusive the error rate", () => {
    expect(check(run(passing({ errorRate: 0.001 })), "criterion.error_rate").outcome).toBe("pass");
    expect(check(run(passing({ errorRate: 0.05 })), "criterion.error_rate").outcome).toBe("fail");
    expect(check(run(passing({ errorRate: 0.01 })), "criterion.error_rate").outcome).toBe(
      "inconclusive",
    );
  });

  it("counts side-effect attempts exactly, spending no alpha", () => {
    const ok = check(run(passing()), "criterion.side_effects");
    expect(ok).toMatchObject({ outcome: "pass", method: "count", alpha: 0 });
    expect(check(run(passing({ sideEffectAttempts: 1 })), "criterion.side_effects").outcome).toBe(
      "fail",
    );
  });

  it("treats a zero limit as a count rule: any occurrence fails", () => {
    const strict = createDecisionEngine({ spec: testSpec({ criteria: { maxErrorRate: 0 } }) });
    const e = (c: CandidateEvidence) =>
      strict.evaluate(strict.start(T0), evidence(strict.specHash, { A: c }), at);
    const clean = resultOf(e(passing({ errorRate: 0 }))).checks.find(
      (c) => c.id === "criterion.error_rate",
    );
    expect(clean).toMatchObject({ outcome: "pass", method: "count", alpha: 0 });
    const one = candidate({ compared: 20_000, errorRate: 0 });
    const dirty = {
      ...one,
      overall: { ...one.overall, outcomes: { ...one.overall.outcomes, error: 1 } },
    };
    expect(resultOf(e(dirty)).checks.find((c) => c.id === "criterion.error_rate")?.outcome).toBe(
      "fail",
    );
  });

  it("judges each declared segment value on its own, and names it", () => {
    const e = run(passing({ mobile: { divergenceRate: 0.4 } }));
    expect(check(e, "criterion.divergence[device=mobile]").outcome).toBe("fail");
    expect(check(e, "criterion.divergence[device=desktop]").outcome).toBe("pass");
    expect(resultOf(e)).toMatchObject({
      decision: "reject",
      rule: "criterion.divergence[device=mobile]",
    });
  });

  it("judges undeclared segment values that carry enough traffic, up to the policy's bound", () => {
    const open = createDecisionEngine({ spec: testSpec({ segments: [{ attribute: "device" }] }) });
    const c = passing();
    const withRare = {
      ...c,
      segments: {
        device: {
          ...c.segments.device,
          // 10 of 20 000 pairs: below the 1% share, not judged on its own.
          fridge: candidate({ compared: 10, divergenceRate: 1 }).overall,
        },
      },
    };
    const r = resultOf(open.evaluate(open.start(T0), evidence(open.specHash, { A: withRare }), at));
    const scopes = new Set(r.checks.map((x) => x.scope));
    expect(scopes.has("device=mobile")).toBe(true);
    expect(scopes.has("device=fridge")).toBe(false);
  });

  it("records counts, bounds, limit, alpha and the rule in every statistical check", () => {
    const c = check(run(passing()), "criterion.divergence");
    expect(c.method).toBe("beta_binomial_confidence_sequence");
    expect(c.counts).toEqual({ successes: 400, trials: 20_000 });
    expect(c.lower).toBeLessThan(0.02);
    expect(c.upper).toBeGreaterThan(0.02);
    expect(c.limit).toBe(0.1);
    // Shadow half of 0.05, overall half of that, four statistical criteria.
    expect(c.alpha).toBeCloseTo(0.05 / 2 / 2 / 4, 12);
    expect(c.rule).toMatch(/upper end/);
  });
});

describe("health checks", () => {
  const at = T0 + 20 * MIN;
  const run = (c: CandidateEvidence, patch: Partial<ExperimentEvidence> = {}) =>
    tick(engine.start(T0), { A: c }, at, patch);

  it("fails traffic before any pair and after the idle bound", () => {
    const none = run(candidate({ compared: 0, firstSeenMs: null, lastSeenMs: null }));
    expect(check(none, "health.traffic").outcome).toBe("fail");
    const idle = run(passing({ lastSeenMs: at - 6 * MIN }));
    expect(check(idle, "health.traffic").outcome).toBe("fail");
    expect(check(run(passing({ lastSeenMs: at - MIN })), "health.traffic").outcome).toBe("pass");
  });

  it("passes, fails and leaves inconclusive coverage", () => {
    expect(check(run(passing()), "health.coverage").outcome).toBe("pass");
    expect(check(run(passing({ plannedMirrors: 40_000 })), "health.coverage").outcome).toBe("fail");
    expect(check(run(passing({ plannedMirrors: 0 })), "health.coverage").outcome).toBe(
      "inconclusive",
    );
  });

  it("fails on lost exposure windows and on collector lag beyond their bounds", () => {
    expect(
      check(run(passing(), { missingExposureWindows: 5 }), "health.delivery_loss").outcome,
    ).toBe("fail");
    expect(check(run(passing(), { collectorLagMs: 5 * MIN }), "health.collector_lag").outcome).toBe(
      "fail",
    );
  });
});

describe("the order of a tick", () => {
  it("lets a health failure win over criteria that all pass", () => {
    const e = tick(engine.start(T0), { A: passing() }, T0 + 20 * MIN, { collectorLagMs: 5 * MIN });
    expect(
      resultOf(e)
        .checks.filter((c) => c.group === "criterion")
        .every((c) => c.outcome === "pass"),
    ).toBe(true);
    expect(resultOf(e)).toMatchObject({
      decision: "wait",
      outcome: "unhealthy",
      rule: "health.collector_lag",
    });
    expect(e.nextState.candidates.A?.phase).toBe("shadow");
    expect(e.routingChanged).toBe(false);
  });

  it("rejects on harm in shadow before the minimum samples and duration are met", () => {
    const e = tick(
      engine.start(T0),
      { A: candidate({ compared: 300, errorRate: 0.3 }) },
      T0 + 2 * MIN,
    );
    expect(check(e, "requirement.min_samples").outcome).toBe("inconclusive");
    expect(check(e, "requirement.min_duration").outcome).toBe("inconclusive");
    expect(resultOf(e)).toMatchObject({
      decision: "reject",
      outcome: "fail",
      rule: "criterion.error_rate",
    });
    expect(e.nextState.candidates.A?.phase).toBe("rejected");
  });

  it("rolls back on harm in a live stage before its hold has passed", () => {
    const live = promoted();
    const startedMs = live.candidates.A?.stageStartedMs ?? 0;
    const e = tick(
      live,
      {
        A: candidate({
          compared: 2_000,
          errorRate: 0.2,
          windowStartMs: startedMs,
          split: { candidateRequests: 100, totalRequests: 1_000 },
        }),
      },
      startedMs + MIN,
    );
    expect(check(e, "requirement.stage_hold").outcome).toBe("inconclusive");
    expect(resultOf(e)).toMatchObject({ decision: "rollback", from: "live-10", to: "rolled_back" });
    expect(e.nextState).toMatchObject({ live: "prod", rollout: null });
    expect(e.routingChanged).toBe(true);
  });

  it("still rolls back on harm while health fails: going back is always safe", () => {
    const live = promoted();
    const startedMs = live.candidates.A?.stageStartedMs ?? 0;
    const e = tick(
      live,
      { A: candidate({ compared: 2_000, errorRate: 0.2, windowStartMs: startedMs }) },
      startedMs + MIN,
      { collectorLagMs: 10 * MIN },
    );
    expect(check(e, "health.collector_lag").outcome).toBe("fail");
    expect(resultOf(e).decision).toBe("rollback");
  });

  it("waits for the minimum samples and duration, then promotes when every criterion passes", () => {
    const state = engine.start(T0);
    const early = tick(state, { A: passing({ firstSeenMs: T0 + MIN }) }, T0 + 5 * MIN);
    expect(resultOf(early)).toMatchObject({ decision: "wait", rule: "requirement.min_duration" });
    const few = tick(state, { A: candidate({ compared: 500 }) }, T0 + 20 * MIN);
    expect(resultOf(few)).toMatchObject({ decision: "wait", rule: "requirement.min_samples" });
    const ready = tick(state, { A: passing() }, T0 + 20 * MIN);
    expect(resultOf(ready)).toMatchObject({
      decision: "promote",
      outcome: "pass",
      rule: "criteria.all_pass",
      from: "shadow",
      to: "live-10",
    });
    expect(ready.nextState).toMatchObject({ rollout: "A", live: "prod" });
    expect(ready.nextState.candidates.A).toMatchObject({
      phase: "live",
      stageIndex: 0,
      stageStartedMs: T0 + 20 * MIN,
    });
    expect(ready.routingChanged).toBe(true);
  });

  it("never promotes on inconclusive: extends until the max duration, then holds for a human", () => {
    const state = engine.start(T0);
    const unsure = passing({ qualityMean: -0.02 });
    const before = tick(state, { A: unsure }, T0 + 30 * MIN);
    expect(resultOf(before)).toMatchObject({
      decision: "extend",
      outcome: "inconclusive",
      rule: "criterion.quality",
    });
    expect(before.nextState.candidates.A?.phase).toBe("shadow");
    const after = tick(before.nextState, { A: unsure }, T0 + 60 * MIN);
    expect(resultOf(after)).toMatchObject({ decision: "hold", rule: "max_duration", to: "held" });
    expect(resultOf(after).reason).toMatch(/Inconclusive never promotes/);
    expect(after.nextState.candidates.A).toMatchObject({
      phase: "held",
      heldFrom: { phase: "shadow", stage: "shadow" },
    });
  });

  it("lets one candidate into the rollout at a time; the other waits its turn", () => {
    const e = tick(engine.start(T0), { A: passing(), B: passing() }, T0 + 20 * MIN);
    expect(resultOf(e, "A").decision).toBe("promote");
    expect(resultOf(e, "B")).toMatchObject({ decision: "wait", rule: "rollout_busy" });
    expect(e.nextState.candidates.B?.phase).toBe("shadow");
  });
});

describe("live stages and the watch", () => {
  const split = (share: number, total = 10_000) => ({
    candidateRequests: Math.round(share * total),
    totalRequests: total,
  });

  it("waits out each stage's hold, advances through the stages and the watch, and ends done", () => {
    let state = promoted();
    let now = state.candidates.A?.stageStartedMs ?? 0;
    const healthy = (s: DecisionState, share: number | null) =>
      candidate({
        compared: 3_000,
        windowStartMs: s.candidates.A?.stageStartedMs ?? 0,
        split: share === null ? null : split(share),
      });

    const holding = tick(state, { A: healthy(state, 0.1) }, now + 5 * MIN);
    expect(resultOf(holding)).toMatchObject({ decision: "wait", rule: "requirement.stage_hold" });

    const toFull = tick(state, { A: healthy(state, 0.1) }, now + 10 * MIN);
    expect(resultOf(toFull)).toMatchObject({
      decision: "advance",
      from: "live-10",
      to: "live-100",
    });
    state = toFull.nextState;
    now += 10 * MIN;

    const toWatch = tick(state, { A: healthy(state, 1) }, now + 10 * MIN, {});
    expect(resultOf(toWatch)).toMatchObject({ decision: "advance", from: "live-100", to: "watch" });
    state = toWatch.nextState;
    now += 10 * MIN;
    expect(state).toMatchObject({ live: "A", previousLive: "prod", rollout: "A" });

    const done = tick(state, { A: healthy(state, null) }, now + 10 * MIN);
    expect(resultOf(done)).toMatchObject({ decision: "advance", from: "watch", to: "done" });
    expect(done.nextState).toMatchObject({ live: "A", previousLive: "prod", rollout: null });
    expect(done.nextState.candidates.A?.phase).toBe("done");
  });

  it("holds the other candidates when the live variant changes: their comparisons were against the old one", () => {
    let state = promoted();
    const next = (s: DecisionState, share: number) =>
      tick(
        s,
        {
          A: candidate({
            compared: 3_000,
            windowStartMs: s.candidates.A?.stageStartedMs ?? 0,
            split: split(share),
          }),
          B: candidate({ compared: 100 }),
        },
        s.updatedMs + 10 * MIN,
      );
    state = next(state, 0.1).nextState;
    const watch = next(state, 1);
    expect(watch.nextState.candidates.B).toMatchObject({
      phase: "held",
      heldFrom: { phase: "shadow" },
    });
    const knockOn = watch.records.find((r) => r.rule === "live_changed");
    expect(knockOn).toMatchObject({ from: "shadow", to: "held", evidence: { variant: "B" } });
  });

  it("holds for a human on a sample-ratio mismatch in a live stage", () => {
    const state = promoted();
    const startedMs = state.candidates.A?.stageStartedMs ?? 0;
    const e = tick(
      state,
      { A: candidate({ compared: 3_000, windowStartMs: startedMs, split: split(0.2) }) },
      startedMs + 2 * MIN,
    );
    expect(check(e, "health.sample_ratio").outcome).toBe("fail");
    expect(resultOf(e)).toMatchObject({
      decision: "hold",
      outcome: "unhealthy",
      rule: "health.sample_ratio",
    });
    expect(e.nextState.candidates.A).toMatchObject({
      phase: "held",
      heldFrom: { stage: "live-10" },
    });
    // Held in a stage keeps its routing: the flag stays where it was.
    expect(engine.routing(e.nextState).rollout).toEqual({ variant: "A", basisPoints: 1_000 });
  });

  it("does not advance a live stage whose traffic split is unknown, and holds it once stalled", () => {
    const state = promoted();
    const startedMs = state.candidates.A?.stageStartedMs ?? 0;
    const c = candidate({ compared: 3_000, windowStartMs: startedMs, split: null });
    const waiting = tick(state, { A: c }, startedMs + 10 * MIN);
    expect(resultOf(waiting)).toMatchObject({ decision: "wait", rule: "health.sample_ratio" });
    const stalled = tick(state, { A: c }, startedMs + 10 * MIN + 60 * MIN);
    expect(resultOf(stalled)).toMatchObject({ decision: "hold", rule: "health.sample_ratio" });
  });
});

describe("frozen evidence", () => {
  it("refuses evidence gathered under another spec version", () => {
    const other = "0".repeat(64);
    let error: unknown;
    try {
      engine.evaluate(engine.start(T0), evidence(other, { A: passing() }), T0 + MIN);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UmbraError);
    expect(error).toMatchObject({ code: "invalid_argument", field: "/specHash" });
    expect((error as Error).message).toMatch(/not reused/);
  });

  it("refuses a state of another spec version", () => {
    const changed = createDecisionEngine({ spec: testSpec({ criteria: { maxErrorRate: 0.02 } }) });
    expect(() => engine.evaluate(changed.start(T0), evidence(hash, {}), T0)).toThrow(
      /new experiment/,
    );
  });

  it("refuses evidence from before the candidate's current stage", () => {
    const live = promoted();
    expect(() => tick(live, { A: passing({ windowStartMs: T0 }) }, T0 + 30 * MIN)).toThrow(
      /windowStartMs/,
    );
  });

  it("refuses malformed evidence, naming the field", () => {
    const bad = passing();
    const broken = { ...bad, overall: { ...bad.overall, divergent: bad.overall.compared + 1 } };
    expect(() => tick(engine.start(T0), { A: broken }, T0 + MIN)).toThrow(
      "/candidates/A/overall/divergent: must be <= compared",
    );
  });

  it("refuses time that runs backwards", () => {
    const e = tick(engine.start(T0), { A: passing() }, T0 + 20 * MIN);
    expect(() => tick(e.nextState, { A: passing() }, T0 + 10 * MIN)).toThrow(/nowMs/);
  });
});

describe("decision records", () => {
  it("writes one record per evaluated candidate with the envelope fields and the evidence", () => {
    const e = tick(
      engine.start(T0),
      { A: passing(), B: candidate({ compared: 100 }) },
      T0 + 20 * MIN,
    );
    expect(e.records.map((r) => r.seq)).toEqual([1, 2]);
    expect(e.nextState.seq).toBe(2);
    const [a] = e.records;
    expect(a).toMatchObject({
      schema: 1,
      kind: "decision",
      experiment: "ranker",
      specHash: hash,
      atMs: T0 + 20 * MIN,
      from: "shadow",
      to: "live-10",
      outcome: "pass",
      rule: "criteria.all_pass",
      actor: "collector",
      evidence: { variant: "A", decision: "promote", alpha: { total: 0.05, window: 0.025 } },
    });
    expect(a?.reason).toMatch(/^A passed every criterion/);
    const checks = a?.evidence.checks as Check[];
    expect(checks.map((c) => c.group)).toContain("health");
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it("is deterministic: the same state, evidence and time give the same result", () => {
    const a = tick(
      engine.start(T0),
      { A: passing(), B: passing({ qualityMean: -0.02 }) },
      T0 + 20 * MIN,
    );
    const b = tick(
      engine.start(T0),
      { A: passing(), B: passing({ qualityMean: -0.02 }) },
      T0 + 20 * MIN,
    );
    expect(a).toEqual(b);
  });

  it("does not log a held candidate again on every tick", () => {
    const held = engine.command(
      engine.start(T0),
      { kind: "hold", variant: "B", actor: "human:ana" },
      T0,
    );
    const e = tick(held.nextState, { B: candidate({ compared: 100 }) }, T0 + MIN);
    expect(e.records.filter((r) => r.evidence.variant === "B")).toEqual([]);
    expect(resultOf(e, "B")).toMatchObject({ decision: "hold", rule: "held" });
  });
});
