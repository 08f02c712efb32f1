import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  categoricalRatesFromJSON,
  createCategoricalRates,
  OTHER_VALUE,
} from "./categorical-rates.ts";

const observation = fc.tuple(fc.constantFrom("a", "b", "c", "d", "e", "f"), fc.boolean());

describe("CategoricalRates", () => {
  it("keeps a rate per value with its Wilson interval", () => {
    const r = createCategoricalRates();
    for (let i = 0; i < 10; i++) r.add("mobile", i < 5);
    r.add("desktop", false);
    const rows = r.rows();
    expect(rows.map((x) => [x.value, x.successes, x.trials])).toEqual([
      ["mobile", 5, 10],
      ["desktop", 0, 1],
    ]);
    expect(rows[0]?.lower).toBeCloseTo(0.2366, 4);
  });

  it("counts values beyond the bound under __other__ while declared values always get a row", () => {
    const r = createCategoricalRates(2, ["eu"]);
    for (const v of ["us", "ap", "sa", "eu", "us"]) r.add(v, true);
    expect(r.rows().map((x) => [x.value, x.trials])).toEqual([
      ["eu", 1],
      ["us", 2],
      [OTHER_VALUE, 2],
    ]);
    expect(r.total().toJSON()).toEqual([5, 5]);
  });

  it("merged from parts equals one instance fed everything when values fit the bound", () => {
    fc.assert(
      fc.property(fc.array(observation), fc.array(observation), (xs, ys) => {
        const a = createCategoricalRates(6);
        const b = createCategoricalRates(6);
        const all = createCategoricalRates(6);
        for (const [v, s] of xs) a.add(v, s);
        for (const [v, s] of ys) b.add(v, s);
        for (const [v, s] of [...xs, ...ys]) all.add(v, s);
        const byValue = (rows: { value: string; trials: number; successes: number }[]) =>
          Object.fromEntries(rows.map((x) => [x.value, [x.successes, x.trials]]));
        expect(byValue(a.clone().merge(b).rows())).toEqual(byValue(all.rows()));
      }),
    );
  });

  it("keeps totals exact and rows never above the truth when the bound overflows", () => {
    fc.assert(
      fc.property(fc.array(observation), fc.array(observation), (xs, ys) => {
        const a = createCategoricalRates(2);
        const b = createCategoricalRates(2);
        for (const [v, s] of xs) a.add(v, s);
        for (const [v, s] of ys) b.add(v, s);
        const m = a.clone().merge(b);
        const all = [...xs, ...ys];
        expect(m.total().toJSON()).toEqual([all.filter(([, s]) => s).length, all.length]);
        for (const row of m.rows()) {
          if (row.value === OTHER_VALUE) continue;
          expect(row.trials).toBeLessThanOrEqual(all.filter(([v]) => v === row.value).length);
        }
        expect(m.rows().length).toBeLessThanOrEqual(3);
      }),
    );
  });

  it("round-trips through JSON and refuses more rows than its bound", () => {
    const r = createCategoricalRates(3, ["x"]);
    r.add("y", true);
    r.add("z", false);
    r.add("w", false);
    const json = JSON.parse(JSON.stringify(r));
    expect(categoricalRatesFromJSON(json).toJSON()).toEqual(r.toJSON());
    expect(() => categoricalRatesFromJSON({ ...json, maxValues: 1, declared: [] }, "/seg")).toThrow(
      "/seg/rows",
    );
  });
});
