import { describe, expect, it } from "vitest";
import {
  formatConfidence,
  formatCount,
  formatDuration,
  formatRate,
  formatSigned,
} from "./format.ts";

describe("number formatting in reasons", () => {
  it("shows rates as percentages with three significant digits", () => {
    expect(formatRate(0.01234)).toBe("1.23%");
    expect(formatRate(0.1)).toBe("10%");
    expect(formatRate(0.000282)).toBe("0.0282%");
    expect(formatRate(0)).toBe("0%");
    expect(formatRate(1)).toBe("100%");
  });

  it("signs differences and groups counts", () => {
    expect(formatSigned(-0.02123)).toBe("-0.0212");
    expect(formatSigned(0.5)).toBe("+0.5");
    expect(formatSigned(0)).toBe("0");
    expect(formatCount(12_345)).toBe("12 345");
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1_000_000)).toBe("1 000 000");
  });

  it("picks a readable unit for durations and enough digits for confidence levels", () => {
    expect(formatDuration(90_000)).toBe("1.5 min");
    expect(formatDuration(7_200_000)).toBe("2 h");
    expect(formatDuration(250)).toBe("250 ms");
    expect(formatConfidence(0.05)).toBe("95.0%");
    expect(formatConfidence(0.003125)).toBe("99.69%");
  });
});
