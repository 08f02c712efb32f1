import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRateCounter, rateCounterFromJSON } from "./rate-counter.ts";

describe("RateCounter", () => {
  it("counts successes and trials and gives the Wilson interval", () => {
    const c = createRateCounter();
    for (let i = 0; i < 10; i++) c.add(i < 5);
    expect(c.toJSON()).toEqual([5, 10]);
    expect(c.rate).toBe(0.5);
    expect(c.interval().lower).toBeCloseTo(0.2366, 4);
    expect(c.bound("upper")).toBeLessThan(c.interval().upper);
  });

  it("merged from parts equals one counter fed everything", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean()), fc.array(fc.boolean()), (xs, ys) => {
        const a = createRateCounter();
        const b = createRateCounter();
        const all = createRateCounter();
        for (const x of xs) a.add(x);
        for (const y of ys) b.add(y);
        for (const v of [...xs, ...ys]) all.add(v);
        expect(a.clone().merge(b).toJSON()).toEqual(all.toJSON());
      }),
    );
  });

  it("round-trips through JSON and refuses impossible counts", () => {
    const c = createRateCounter();
    c.addCounts(3, 7);
    expect(rateCounterFromJSON(JSON.parse(JSON.stringify(c))).toJSON()).toEqual([3, 7]);
    expect(() => rateCounterFromJSON([8, 7], "/divergence")).toThrow("/divergence/0");
    expect(() => rateCounterFromJSON([1.5, 7], "/d")).toThrow("/d/0: must be an integer");
    expect(() => rateCounterFromJSON({}, "/d")).toThrow("/d: must be an array");
  });
});
