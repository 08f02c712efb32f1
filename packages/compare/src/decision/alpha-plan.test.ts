import { describe, expect, it } from "vitest";
import { planAlpha, statisticalMetrics } from "./alpha-plan.ts";
import { testSpec } from "./decision-fixtures.ts";
import { DEFAULT_DECISION_POLICY } from "./decision-policy.ts";

describe("planAlpha", () => {
  it("spends exactly the spec's alpha over the shadow phase and every later window", () => {
    const plan = planAlpha(testSpec(), DEFAULT_DECISION_POLICY, 3);
    expect(plan.shadow + 3 * plan.laterWindow).toBeCloseTo(0.05, 15);
    expect(plan.shadow).toBeCloseTo(0.025, 15);
  });

  it("spends a window's alpha exactly over the checks of every scope (weighted Bonferroni)", () => {
    const spec = testSpec({
      segments: [
        { attribute: "device", values: ["mobile", "desktop"] },
        { attribute: "region", values: ["eu", "us", "apac"] },
      ],
    });
    const plan = planAlpha(spec, DEFAULT_DECISION_POLICY, 3);
    const metrics = plan.metrics.length;
    expect(metrics).toBe(4);
    const total =
      metrics * plan.forCheck(plan.shadow, { kind: "overall" }) +
      2 * metrics * plan.forCheck(plan.shadow, { kind: "segment", attribute: "device" }) +
      3 * metrics * plan.forCheck(plan.shadow, { kind: "segment", attribute: "region" });
    expect(total).toBeCloseTo(plan.shadow, 15);
  });

  it("gives the overall scope the whole window when no segments are declared", () => {
    const plan = planAlpha(
      testSpec({ segments: [], criteria: { minSamplesPerSegment: undefined } }),
      DEFAULT_DECISION_POLICY,
      1,
    );
    expect(plan.forCheck(plan.shadow, { kind: "overall" })).toBeCloseTo(0.025 / 4, 15);
  });

  it("budgets attributes without declared values for the policy's maximum number of values", () => {
    const plan = planAlpha(
      testSpec({ segments: [{ attribute: "country" }] }),
      DEFAULT_DECISION_POLICY,
      1,
    );
    expect(plan.forCheck(0.02, { kind: "segment", attribute: "country" })).toBeCloseTo(
      0.02 / 2 / DEFAULT_DECISION_POLICY.maxSegmentValues / 4,
      15,
    );
  });

  it("spends no alpha on criteria that are not declared or whose limit is 0", () => {
    const spec = testSpec({ criteria: { maxErrorRate: 0, qualityMargin: undefined } });
    expect(statisticalMetrics(spec)).toEqual(["divergence", "latency_p99"]);
  });
});
