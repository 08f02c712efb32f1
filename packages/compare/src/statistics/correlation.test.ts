import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  correlationFromJSON,
  correlationInterval,
  createCorrelationAccumulator,
} from "./correlation.ts";

function pearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const point = fc.tuple(
  fc.double({ min: -1000, max: 1000, noNaN: true }),
  fc.double({ min: -1000, max: 1000, noNaN: true }),
);

describe("CorrelationAccumulator", () => {
  it("gives Pearson's r of known data", () => {
    const c = createCorrelationAccumulator();
    // y = 2x + 1 exactly: r = 1; Anscombe's first quartet has r = 0.81642.
    for (const x of [1, 2, 3, 4]) c.add(x, 2 * x + 1);
    expect(c.correlation).toBeCloseTo(1, 12);
    const anscombe = createCorrelationAccumulator();
    const xs = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
    const ys = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68];
    xs.forEach((x, i) => {
      anscombe.add(x, ys[i] as number);
    });
    expect(anscombe.correlation).toBeCloseTo(0.81642, 5);
    expect(anscombe.meanX).toBeCloseTo(9, 12);
    expect(anscombe.meanY).toBeCloseTo(7.50091, 5);
  });

  it("has no correlation with fewer than two pairs or a constant variable", () => {
    const c = createCorrelationAccumulator();
    expect(c.correlation).toBeNull();
    c.add(1, 0);
    c.add(2, 0);
    expect(c.correlation).toBeNull();
    c.add(Number.NaN, 1);
    expect(c.n).toBe(2);
  });

  it("merged from parts equals one accumulator fed everything (Chan et al.)", () => {
    fc.assert(
      fc.property(
        fc.array(point, { maxLength: 50 }),
        fc.array(point, { maxLength: 50 }),
        (as, bs) => {
          const a = createCorrelationAccumulator();
          const b = createCorrelationAccumulator();
          const all = createCorrelationAccumulator();
          for (const [x, y] of as) a.add(x, y);
          for (const [x, y] of bs) b.add(x, y);
          for (const [x, y] of [...as, ...bs]) all.add(x, y);
          const m = a.clone().merge(b);
          expect(m.n).toBe(all.n);
          for (const k of ["meanX", "meanY", "m2x", "m2y", "cxy"] as const) {
            expect(Math.abs(m[k] - all[k])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(all[k])));
          }
          const r = all.correlation;
          if (r !== null && all.m2x > 1e-6 && all.m2y > 1e-6) {
            expect(m.correlation as number).toBeCloseTo(r, 6);
            expect(r).toBeCloseTo(
              pearson(
                as.concat(bs).map((p) => p[0]),
                as.concat(bs).map((p) => p[1]),
              ),
              6,
            );
          }
        },
      ),
    );
  });

  it("round-trips through JSON", () => {
    const c = createCorrelationAccumulator();
    c.add(1, 2);
    c.add(3, 5);
    expect(correlationFromJSON(JSON.parse(JSON.stringify(c))).toJSON()).toEqual(c.toJSON());
    expect(() => correlationFromJSON({ ...c.toJSON(), m2x: -1 }, "/c")).toThrow("/c/m2x");
  });
});

describe("correlationInterval", () => {
  it("uses Fisher's z: r = 0.5 from 28 pairs gives [0.1560, 0.7358] at 95%", () => {
    // atanh(0.5) = 0.54931 ± 1.95996/√25 = 0.39199 → tanh(0.15731) = 0.15603, tanh(0.94130) = 0.73582.
    const i = correlationInterval(0.5, 28) as { lower: number; upper: number };
    expect(i.lower).toBeCloseTo(0.15603, 5);
    expect(i.upper).toBeCloseTo(0.73582, 5);
    expect(correlationInterval(0.5, 3)).toBeNull();
  });
});
