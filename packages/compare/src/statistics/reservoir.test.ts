import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createReservoir, reservoirFromJSON } from "./reservoir.ts";
import { createSeededRandom } from "./seeded-random.ts";

describe("Reservoir", () => {
  it("keeps the first capacity items, then never more than capacity", () => {
    const r = createReservoir<number>({ capacity: 5, seed: 1 });
    for (let i = 0; i < 3; i++) r.offer(i);
    expect(r.items).toEqual([0, 1, 2]);
    for (let i = 3; i < 10_000; i++) r.offer(i);
    expect(r.items).toHaveLength(5);
    expect(r.seen).toBe(10_000);
    expect(new Set(r.items).size).toBe(5);
  });

  it("is reproducible from its seed and differs across seeds", () => {
    const run = (seed: number) => {
      const r = createReservoir<number>({ capacity: 8, seed });
      for (let i = 0; i < 1000; i++) r.offer(i);
      return [...r.items];
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it("samples uniformly: each of 20 items is kept about capacity/20 of the time", () => {
    const hits = new Array<number>(20).fill(0);
    const runs = 4000;
    for (let s = 0; s < runs; s++) {
      const r = createReservoir<number>({ capacity: 5, seed: s });
      for (let i = 0; i < 20; i++) r.offer(i);
      for (const i of r.items) hits[i] = (hits[i] as number) + 1;
    }
    // Expected 1000 per item; a chi-square with 19 degrees of freedom above 43.8 has p < 0.001.
    const chi2 = hits.reduce((acc, h) => acc + (h - 1000) ** 2 / 1000, 0);
    expect(chi2).toBeLessThan(43.8);
  });

  it("builds lazily offered items only when they are kept", () => {
    const r = createReservoir<string>({ capacity: 2, seed: 7 });
    let built = 0;
    const make = (i: number) => {
      built++;
      return `item-${i}`;
    };
    for (let i = 0; i < 1000; i++) r.offerLazy(make, i);
    expect(built).toBeLessThan(40); // about 2 + 2·ln(1000/2) ≈ 14
    expect(r.items).toHaveLength(2);
  });

  it("merges to a bounded sample of the union whose seen count is the sum", () => {
    fc.assert(
      fc.property(fc.nat(300), fc.nat(300), fc.integer({ min: 1, max: 10 }), (na, nb, capacity) => {
        const a = createReservoir<number>({ capacity, seed: na });
        const b = createReservoir<number>({ capacity, seed: nb + 1000 });
        for (let i = 0; i < na; i++) a.offer(i);
        for (let i = 0; i < nb; i++) b.offer(10_000 + i);
        const m = a.clone().merge(b);
        expect(m.seen).toBe(na + nb);
        expect(m.items).toHaveLength(Math.min(capacity, na + nb));
        expect(new Set(m.items).size).toBe(m.items.length);
        for (const x of m.items) expect(a.items.includes(x) || b.items.includes(x)).toBe(true);
      }),
    );
  });

  it("weights a merge by what each side saw", () => {
    // A saw 900 items, B 100: about 90% of the merged sample should come from A.
    let fromA = 0;
    const runs = 500;
    for (let s = 0; s < runs; s++) {
      const a = createReservoir<string>({ capacity: 10, seed: s });
      const b = createReservoir<string>({ capacity: 10, seed: s + 77_777 });
      for (let i = 0; i < 900; i++) a.offer("a");
      for (let i = 0; i < 100; i++) b.offer("b");
      fromA += a.merge(b).items.filter((x) => x === "a").length;
    }
    const share = fromA / (runs * 10);
    expect(share).toBeGreaterThan(0.88);
    expect(share).toBeLessThan(0.92);
  });

  it("continues identically after a JSON round trip (the random state is saved)", () => {
    const a = createReservoir<number>({ capacity: 4, seed: 9 });
    for (let i = 0; i < 100; i++) a.offer(i);
    const b = reservoirFromJSON<number>(JSON.parse(JSON.stringify(a)));
    for (let i = 100; i < 500; i++) {
      a.offer(i);
      b.offer(i);
    }
    expect(b.items).toEqual(a.items);
    expect(b.toJSON()).toEqual(a.toJSON());
  });

  it("refuses a snapshot whose item count disagrees with capacity and seen", () => {
    const json = { capacity: 3, seen: 10, randomState: 1, items: [1, 2] };
    expect(() => reservoirFromJSON(json, "/r")).toThrow("/r/items");
    expect(() => reservoirFromJSON({ ...json, randomState: -1 }, "/r")).toThrow("/r/randomState");
  });
});

describe("SeededRandom", () => {
  it("is deterministic, in [0, 1), and resumes from its state", () => {
    const r = createSeededRandom(123);
    const first = [r.next(), r.next(), r.next()];
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    const again = createSeededRandom(123);
    expect([again.next(), again.next(), again.next()]).toEqual(first);
    const resumed = createSeededRandom(r.state);
    expect(resumed.next()).toBe(r.next());
  });
});
