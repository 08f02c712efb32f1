import { describe, expect, it } from "vitest";
import { back, plan, problems } from "../examples/quick-start.ts";

describe("README quick start", () => {
  it("builds a valid flag, evaluates a plan and round-trips a pair record", () => {
    expect(problems).toEqual([]);
    expect(plan.live).toBe("prod");
    expect(plan.mirror).toContain("A");
    expect(back.shadow.output).toEqual({
      label: "sports",
      embedding: new Float32Array([0.5, -0.9]),
    });
  });
});
