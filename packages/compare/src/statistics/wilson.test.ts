import { UmbraError } from "@umbra/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalQuantile } from "./normal-quantile.ts";
import { rateDifferenceInterval, wilsonBound, wilsonInterval } from "./wilson.ts";

describe("normalQuantile", () => {
  it("matches the standard normal quantiles to 1e-14", () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalQuantile(0.95)).toBeCloseTo(1.6448536269514722, 14);
    expect(normalQuantile(0.995)).toBeCloseTo(2.5758293035489004, 14);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963984540054, 14);
    // Far tail (the third branch of AS 241).
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 12);
  });

  it("refuses probabilities outside (0, 1)", () => {
    expect(() => normalQuantile(0)).toThrow(UmbraError);
    expect(() => normalQuantile(1)).toThrow(UmbraError);
    expect(() => normalQuantile(Number.NaN)).toThrow(UmbraError);
  });
});

describe("wilsonInterval", () => {
  it("gives the textbook intervals for 0/10, 5/10 and 95/100 at 95%", () => {
    // p̂ ± from (p̂ + z²/2n ± z√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n), z = 1.959964.
    expect(wilsonInterval(0, 10)).toMatchObject({ estimate: 0, lower: 0 });
    expect(wilsonInterval(0, 10).upper).toBeCloseTo(0.2775, 4);
    const half = wilsonInterval(5, 10);
    expect(half.lower).toBeCloseTo(0.2366, 4);
    expect(half.upper).toBeCloseTo(0.7634, 4);
    const high = wilsonInterval(95, 100);
    expect(high.lower).toBeCloseTo(0.8882, 4);
    expect(high.upper).toBeCloseTo(0.9785, 4);
  });

  it("reproduces Newcombe (1998) Table I, method 3 (score interval without correction)", () => {
    // Newcombe, "Two-sided confidence intervals for the single proportion: comparison of seven
    // methods", Statistics in Medicine 17:857-872, Table I.
    const table: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [x, n, lower, upper] of table) {
      const i = wilsonInterval(x, n);
      expect(i.lower).toBeCloseTo(lower, 4);
      expect(i.upper).toBeCloseTo(upper, 4);
    }
  });

  it("answers [0, 1] with a null estimate when there are no trials", () => {
    expect(wilsonInterval(0, 0)).toEqual({ estimate: null, lower: 0, upper: 1, confidence: 0.95 });
  });

  it("always contains the estimate and stays inside [0, 1]", () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.nat(10_000),
        fc.double({ min: 0.5, max: 0.999, noNaN: true }),
        (a, b, c) => {
          const trials = Math.max(a, b);
          const successes = Math.min(a, b);
          const i = wilsonInterval(successes, trials, c);
          expect(i.lower).toBeGreaterThanOrEqual(0);
          expect(i.upper).toBeLessThanOrEqual(1);
          if (i.estimate !== null) {
            expect(i.lower).toBeLessThanOrEqual(i.estimate + 1e-12);
            expect(i.upper).toBeGreaterThanOrEqual(i.estimate - 1e-12);
          }
        },
      ),
    );
  });

  it("refuses impossible counts, naming the field", () => {
    expect(() => wilsonInterval(3, 2)).toThrow("successes");
    expect(() => wilsonInterval(-1, 2)).toThrow("successes");
    expect(() => wilsonInterval(1, 2, 1)).toThrow("confidence");
  });
});

describe("wilsonBound", () => {
  it("equals an end of the two-sided interval at twice the tail probability", () => {
    const two = wilsonInterval(5, 100, 0.9);
    expect(wilsonBound(5, 100, "upper", 0.95)).toBeCloseTo(two.upper, 14);
    expect(wilsonBound(5, 100, "lower", 0.95)).toBeCloseTo(two.lower, 14);
    expect(wilsonBound(0, 0, "upper")).toBe(1);
    expect(wilsonBound(0, 0, "lower")).toBe(0);
  });
});

describe("rateDifferenceInterval", () => {
  it("reproduces Newcombe (1998) Table II, method 10 (hybrid score)", () => {
    // Newcombe, "Interval estimation for the difference between independent proportions:
    // comparison of eleven methods", Statistics in Medicine 17:873-890.
    const cases: [number, number, number, number, number, number][] = [
      [56, 70, 48, 80, 0.0524, 0.3339],
      [9, 10, 3, 10, 0.1705, 0.809],
      [5, 56, 0, 29, -0.0381, 0.1926],
    ];
    for (const [x1, n1, x2, n2, lower, upper] of cases) {
      const d = rateDifferenceInterval(x1, n1, x2, n2);
      expect(d.lower).toBeCloseTo(lower, 4);
      expect(d.upper).toBeCloseTo(upper, 4);
    }
  });

  it("has no estimate when either side has no trials", () => {
    expect(rateDifferenceInterval(1, 2, 0, 0)).toMatchObject({
      estimate: null,
      lower: -1,
      upper: 1,
    });
  });
});
