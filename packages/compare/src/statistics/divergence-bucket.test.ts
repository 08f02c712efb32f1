import { describe, expect, it } from "vitest";
import { divergenceBucket } from "./divergence-bucket.ts";

describe("divergenceBucket", () => {
  it("puts each boundary in the documented bucket", () => {
    expect(divergenceBucket(0)).toBe("safe");
    expect(divergenceBucket(0.0099)).toBe("safe");
    expect(divergenceBucket(0.01)).toBe("investigate");
    expect(divergenceBucket(0.0499)).toBe("investigate");
    expect(divergenceBucket(0.05)).toBe("edge_cases");
    expect(divergenceBucket(0.1)).toBe("edge_cases");
    expect(divergenceBucket(0.1001)).toBe("do_not_roll_out");
    expect(divergenceBucket(1)).toBe("do_not_roll_out");
  });

  it("refuses rates outside [0, 1]", () => {
    expect(() => divergenceBucket(-0.1)).toThrow("rate");
    expect(() => divergenceBucket(Number.NaN)).toThrow("rate");
  });
});
