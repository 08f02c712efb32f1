import {
  type CandidateEvidence,
  createDecisionEngine,
  createEvidenceAccumulator,
} from "@umbra/compare";
import type { DecisionRecord } from "@umbra/protocol";
import { createRandom } from "@umbra/testing";
import { describe, expect, it } from "vitest";
import { buildDemoSpec } from "./demo-experiment.ts";
import { judgeOutcome, standings } from "./demo-outcome.ts";

/** How a simulated candidate behaves on one request. */
type Behaviour = (
  device: string,
  region: string,
  draw: () => number,
) => {
  divergent: boolean;
  latencyMs: number;
};

const SPEC = buildDemoSpec({ prod: "h:1", A: "h:2", B: "h:3", C: "h:4" });

const asSpecified: Record<string, Behaviour> = {
  A: (_d, region, draw) => ({ divergent: region === "ap-south" && draw() < 0.02, latencyMs: 4 }),
  B: () => ({ divergent: false, latencyMs: 320 }),
  C: (device, _r, draw) => ({ divergent: device === "mobile" && draw() < 0.12, latencyMs: 5 }),
};

/**
 * Runs the real decision engine over simulated traffic (150 requests a second, one tick a
 * second, the demo's spec), the way the collector does, and returns its decision records.
 */
function simulate(behaviour: Record<string, Behaviour>, seconds = 200): DecisionRecord[] {
  const engine = createDecisionEngine({ spec: SPEC });
  const t0 = Date.UTC(2026, 2, 1);
  let state = engine.start(t0);
  const rng = createRandom(7);
  const draw = () => rng.next();
  const windows = new Map<
    string,
    {
      acc: ReturnType<typeof createEvidenceAccumulator>;
      startMs: number;
      requests: number;
      rollout: number;
    }
  >();
  const windowOf = (variant: string) => {
    const startMs = state.candidates[variant]?.stageStartedMs ?? t0;
    let w = windows.get(variant);
    if (w === undefined || w.startMs !== startMs) {
      w = {
        acc: createEvidenceAccumulator({ spec: SPEC, windowStartMs: startMs }),
        startMs,
        requests: 0,
        rollout: 0,
      };
      windows.set(variant, w);
    }
    return w;
  };
  const records: DecisionRecord[] = [];
  for (let s = 1; s <= seconds; s++) {
    const now = t0 + s * 1_000;
    const routing = engine.routing(state);
    for (let i = 0; i < 150; i++) {
      const timestampMs = now - 1_000 + i * 6;
      const d = draw();
      const device = d < 0.25 ? "mobile" : d < 0.8 ? "desktop" : "tablet";
      const region = draw() < 0.2 ? "ap-south" : "eu-west";
      if (routing.rollout !== undefined) {
        const w = windowOf(routing.rollout.variant);
        w.requests++;
        if (draw() * 10_000 < routing.rollout.basisPoints) {
          w.rollout++;
          continue;
        }
      }
      for (const c of routing.candidates) {
        if (draw() * 10_000 >= c.sampleBasisPoints) continue;
        // In the watch the previous live variant is the one mirrored; its pairs describe the
        // candidate in the rollout, sides flipped, as the collector counts them.
        const variant = c.variant === SPEC.live ? (state.rollout ?? c.variant) : c.variant;
        const b = (behaviour[variant] as Behaviour)(device, region, draw);
        const w = windowOf(variant);
        w.acc.add({ outcome: "ok", timestampMs, segment: { device }, ...b });
        w.acc.addPlannedMirrors(1);
      }
    }
    const candidates: Record<string, CandidateEvidence> = {};
    for (const variant of engine.candidates) {
      const w = windowOf(variant);
      const e = w.acc.evidence();
      // At 100% the rollout candidate answers every request and is mirrored on none: its
      // traffic is the requests it answered, as a collector reads them from exposures.
      candidates[variant] =
        routing.rollout?.variant === variant
          ? {
              ...e,
              firstSeenMs: e.firstSeenMs ?? w.startMs,
              lastSeenMs: now,
              split: { candidateRequests: w.rollout, totalRequests: w.requests },
            }
          : e;
    }
    const tick = engine.evaluate(
      state,
      {
        experiment: SPEC.experiment,
        specHash: engine.specHash,
        collectorLagMs: 0,
        exposureWindows: s,
        missingExposureWindows: 0,
        candidates,
      },
      now,
    );
    records.push(...tick.records);
    state = tick.nextState;
  }
  return records;
}

describe("judgeOutcome", () => {
  it("sees all three outcomes when the engine decides as the demo intends", () => {
    const outcome = judgeOutcome(simulate(asSpecified));
    expect(outcome.candidates.map((c) => [c.variant, c.standing.stage, c.met])).toEqual([
      ["A", "done", true],
      ["B", "rejected", true],
      ["C", "rejected", true],
    ]);
    expect(outcome.met).toBe(true);
    expect(outcome.missed).toBe(false);
    expect(outcome.candidates[1].standing.reason).toMatch(/latenc/);
    expect(outcome.candidates[2].standing.reason).toMatch(/device=mobile/);
  });

  it("is not met yet while the candidates are still in shadow", () => {
    const outcome = judgeOutcome(simulate(asSpecified, 3).filter((r) => r.from === r.to));
    expect(outcome.met).toBe(false);
    expect(outcome.missed).toBe(false);
    expect(outcome.candidates.map((c) => c.standing.stage)).toEqual(["shadow", "shadow", "shadow"]);
  });

  it("reports C as missed when it is rejected on its overall divergence rather than on mobile", () => {
    const outcome = judgeOutcome(
      simulate({
        ...asSpecified,
        C: (_d, _r, draw) => ({ divergent: draw() < 0.3, latencyMs: 5 }),
      }),
    );
    expect(outcome.candidates[2]).toMatchObject({ met: false, missed: true });
    expect(outcome.candidates[2].standing.rule).toBe("criterion.divergence");
    expect(outcome.missed).toBe(true);
  });

  it("reports B as missed when it is fast enough to pass and is held once A goes live", () => {
    const outcome = judgeOutcome(
      simulate({ ...asSpecified, B: () => ({ divergent: false, latencyMs: 5 }) }),
    );
    expect(outcome.candidates[1]).toMatchObject({ met: false, missed: true });
    expect(outcome.candidates[1].standing.stage).toBe("held");
  });

  it("reports A as missed when it is rejected", () => {
    const outcome = judgeOutcome(
      simulate(
        { ...asSpecified, A: (_d, _r, draw) => ({ divergent: draw() < 0.2, latencyMs: 4 }) },
        30,
      ),
    );
    expect(outcome.candidates[0]).toMatchObject({ met: false, missed: true });
  });
});

describe("standings", () => {
  it("keeps the last transition's rule and reason, and the latest decision in words", () => {
    const records = simulate(asSpecified, 40);
    const s = standings(records, ["A"]);
    expect(s.A?.stage).toBe("live-1");
    expect(s.A?.rule).toBe("criteria.all_pass");
    expect(s.A?.latest).toMatch(/^A/);
  });
});
