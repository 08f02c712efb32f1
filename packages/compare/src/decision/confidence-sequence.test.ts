import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../statistics/seeded-random.ts";
import { wilsonInterval } from "../statistics/wilson.ts";
import {
  bernoulliConfidenceSequence,
  JEFFREYS_PRIOR,
  meanConfidenceSequence,
  normalMixtureMargin,
  optimalMixtureRho2,
} from "./confidence-sequence.ts";
import { logBeta } from "./log-gamma.ts";

describe("bernoulliConfidenceSequence", () => {
  it("is [0, 1] with no trials", () => {
    expect(bernoulliConfidenceSequence(0, 0, 0.05)).toEqual({
      estimate: null,
      lower: 0,
      upper: 1,
      alpha: 0.05,
    });
  });

  it("has the closed-form upper end when nothing succeeded", () => {
    // With s = 0, ln M(p) = ln B(a, b + n) − ln B(a, b) − n ln(1 − p) = ln(1/α) solves exactly.
    const n = 5_000;
    const alpha = 0.01;
    const { a, b } = JEFFREYS_PRIOR;
    const exact = 1 - Math.exp((logBeta(a, b + n) - logBeta(a, b) - Math.log(1 / alpha)) / n);
    const cs = bernoulliConfidenceSequence(0, n, alpha);
    expect(cs.lower).toBe(0);
    expect(cs.upper).toBeGreaterThanOrEqual(exact);
    expect(cs.upper - exact).toBeLessThan(1e-9);
  });

  it("mirrors itself when successes and failures swap under a symmetric prior", () => {
    const a = bernoulliConfidenceSequence(30, 1_000, 0.05);
    const b = bernoulliConfidenceSequence(970, 1_000, 0.05);
    expect(a.lower).toBeCloseTo(1 - b.upper, 8);
    expect(a.upper).toBeCloseTo(1 - b.lower, 8);
  });

  it("contains the estimate, narrows with more trials and widens with a smaller alpha", () => {
    const small = bernoulliConfidenceSequence(50, 1_000, 0.05);
    const large = bernoulliConfidenceSequence(500, 10_000, 0.05);
    const strict = bernoulliConfidenceSequence(50, 1_000, 0.001);
    expect(small.lower).toBeLessThan(0.05);
    expect(small.upper).toBeGreaterThan(0.05);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
    expect(strict.lower).toBeLessThan(small.lower);
    expect(strict.upper).toBeGreaterThan(small.upper);
  });

  it("is wider than the fixed-sample Wilson interval at the same level (the price of peeking)", () => {
    const cs = bernoulliConfidenceSequence(100, 2_000, 0.05);
    const wilson = wilsonInterval(100, 2_000, 0.95);
    expect(cs.lower).toBeLessThan(wilson.lower);
    expect(cs.upper).toBeGreaterThan(wilson.upper);
  });

  it("finds the same ends as a plain bisection of the mixture ratio, never inside them", () => {
    const random = createSeededRandom(3);
    for (let i = 0; i < 300; i++) {
      const trials = 1 + Math.floor(random.next() ** 3 * 200_000);
      const successes = Math.floor(random.next() ** 2 * (trials + 1));
      const alpha = 10 ** (-1 - 4 * random.next());
      const { a, b } = JEFFREYS_PRIOR;
      const f = trials - successes;
      const logRatio = (p: number) =>
        logBeta(a + successes, b + f) -
        logBeta(a, b) -
        (successes > 0 ? successes * Math.log(p) : 0) -
        (f > 0 ? f * Math.log1p(-p) : 0);
      const bisect = (inside: number, outside: number) => {
        for (let k = 0; k < 200; k++) {
          const mid = (inside + outside) / 2;
          if (logRatio(mid) < Math.log(1 / alpha)) inside = mid;
          else outside = mid;
        }
        return outside;
      };
      const estimate = successes / trials;
      const cs = bernoulliConfidenceSequence(successes, trials, alpha);
      const upper = logRatio(1) < Math.log(1 / alpha) ? 1 : bisect(estimate, 1);
      const lower = logRatio(0) < Math.log(1 / alpha) ? 0 : bisect(estimate, 0);
      expect(cs.upper).toBeGreaterThanOrEqual(upper - 1e-15);
      expect(cs.lower).toBeLessThanOrEqual(lower + 1e-15);
      expect(cs.upper - upper).toBeLessThan(1e-9);
      expect(lower - cs.lower).toBeLessThan(1e-9);
    }
  });

  it("refuses counts and levels that make no sense", () => {
    expect(() => bernoulliConfidenceSequence(5, 4, 0.05)).toThrow(UmbraError);
    expect(() => bernoulliConfidenceSequence(-1, 4, 0.05)).toThrow(UmbraError);
    expect(() => bernoulliConfidenceSequence(1, 4, 0)).toThrow(/alpha/);
    expect(() => bernoulliConfidenceSequence(1, 4, 0.05, { a: 0, b: 1 })).toThrow(/prior/);
  });

  it("keeps the true rate inside at every look in at least 1 − alpha of seeded runs", () => {
    const alpha = 0.1;
    const rate = 0.05;
    const runs = 300;
    const random = createSeededRandom(7);
    let missed = 0;
    for (let run = 0; run < runs; run++) {
      let successes = 0;
      let lost = false;
      for (let n = 1; n <= 3_000 && !lost; n++) {
        if (random.next() < rate) successes++;
        if (n % 20 === 0 || n < 50) {
          const cs = bernoulliConfidenceSequence(successes, n, alpha);
          lost = rate < cs.lower || rate > cs.upper;
        }
      }
      if (lost) missed++;
    }
    expect(missed / runs).toBeLessThanOrEqual(alpha);
  });

  it("is needed: repeated 90% Wilson intervals lose the true rate in more than 10% of the same runs", () => {
    const alpha = 0.1;
    const rate = 0.05;
    const runs = 300;
    const random = createSeededRandom(7);
    let missed = 0;
    for (let run = 0; run < runs; run++) {
      let successes = 0;
      let lost = false;
      for (let n = 1; n <= 3_000 && !lost; n++) {
        if (random.next() < rate) successes++;
        if (n % 20 === 0 || n < 50) {
          const ci = wilsonInterval(successes, n, 1 - alpha);
          lost = rate < ci.lower || rate > ci.upper;
        }
      }
      if (lost) missed++;
    }
    expect(missed / runs).toBeGreaterThan(alpha);
  });
});

describe("meanConfidenceSequence", () => {
  const options = { optimalCount: 1_000, min: -1, max: 1 };

  it("is the whole range with no observations", () => {
    expect(meanConfidenceSequence({ count: 0, sum: 0, sumOfSquares: 0 }, 0.05, options)).toEqual({
      estimate: null,
      lower: -1,
      upper: 1,
      alpha: 0.05,
    });
  });

  it("is the mean ± σ̃ times the normal-mixture margin", () => {
    // 1000 observations: 100 of +1, 100 of −1, the rest 0 → mean 0, Σx² = 200.
    const stats = { count: 1_000, sum: 0, sumOfSquares: 200 };
    const cs = meanConfidenceSequence(stats, 0.05, { ...options, priorCount: 0 });
    const margin =
      Math.sqrt(0.2) * normalMixtureMargin(1_000, optimalMixtureRho2(1_000, 0.05), 0.05);
    expect(cs.estimate).toBe(0);
    expect(cs.upper).toBeCloseTo(margin, 12);
    expect(cs.lower).toBeCloseTo(-margin, 12);
  });

  it("does not collapse to a point when every observation is the same", () => {
    const cs = meanConfidenceSequence({ count: 20, sum: -20, sumOfSquares: 20 }, 0.01, options);
    expect(cs.estimate).toBe(-1);
    expect(cs.lower).toBe(-1);
    expect(cs.upper).toBeGreaterThan(-0.5);
  });

  it("tunes the mixture so the boundary is tightest near the optimal count", () => {
    const rho2 = optimalMixtureRho2(1_000, 0.05);
    const scaled = (n: number) => normalMixtureMargin(n, rho2, 0.05) * Math.sqrt(n);
    expect(scaled(1_000)).toBeLessThan(scaled(100));
    expect(scaled(1_000)).toBeLessThan(scaled(100_000));
  });

  it("keeps a paired quality difference's true mean inside at every look in at least 1 − alpha of seeded runs", () => {
    const alpha = 0.1;
    // P(+1) = 0.04, P(−1) = 0.06: true mean −0.02, the shape of label-agreement differences.
    const trueMean = -0.02;
    const runs = 300;
    const random = createSeededRandom(11);
    let missed = 0;
    for (let run = 0; run < runs; run++) {
      let count = 0;
      let sum = 0;
      let sumOfSquares = 0;
      let lost = false;
      for (let n = 1; n <= 3_000 && !lost; n++) {
        const u = random.next();
        const d = u < 0.04 ? 1 : u < 0.1 ? -1 : 0;
        count++;
        sum += d;
        sumOfSquares += d * d;
        if (n % 20 === 0) {
          const cs = meanConfidenceSequence({ count, sum, sumOfSquares }, alpha, options);
          lost = trueMean < cs.lower || trueMean > cs.upper;
        }
      }
      if (lost) missed++;
    }
    expect(missed / runs).toBeLessThanOrEqual(alpha);
  });
});
