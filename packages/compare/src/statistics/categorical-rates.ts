import { UmbraError } from "@umbra/protocol";
import { readArray, readNumber, readObject, readString } from "../internal/json-read.ts";
import { RateCounter, type RateCounterJson, rateCounterFromJSON } from "./rate-counter.ts";
import type { RateInterval } from "./wilson.ts";

/** The row that collects values beyond the bound on distinct values. */
export const OTHER_VALUE = "__other__";

/** Default bound on distinct values of a {@link CategoricalRates}. */
export const DEFAULT_MAX_CATEGORICAL_VALUES = 32;

/** The JSON form of a {@link CategoricalRates}. */
export interface CategoricalRatesJson {
  maxValues: number;
  declared: string[];
  rows: Record<string, RateCounterJson>;
  other: RateCounterJson;
}

/** One value's rate, with its Wilson interval. */
export interface CategoricalRateRow extends RateInterval {
  readonly value: string;
  readonly successes: number;
  readonly trials: number;
}

/**
 * Rates per categorical value (divergence per device, per country…), mergeable, with a bound on
 * distinct values: declared values always get their own row; other values get one while fewer
 * than `maxValues` rows exist, and the rest are counted together under {@link OTHER_VALUE}.
 * Totals are always exact; which undeclared values get a row when the bound is hit depends on
 * arrival order.
 */
export class CategoricalRates {
  /** Bound on rows (declared ones included). */
  readonly maxValues: number;
  readonly #declared: readonly string[];
  readonly #rows = new Map<string, RateCounter>();
  /** Values beyond the bound, together. */
  readonly other = new RateCounter();

  constructor(
    maxValues: number = DEFAULT_MAX_CATEGORICAL_VALUES,
    declared: readonly string[] = [],
  ) {
    if (!Number.isInteger(maxValues) || maxValues < 0 || maxValues > 100_000) {
      throw UmbraError.invalid("maxValues", "must be an integer in [0, 100000]");
    }
    this.maxValues = Math.max(maxValues, declared.length);
    this.#declared = [...declared];
    for (const value of declared) this.#rows.set(value, new RateCounter());
  }

  /** The counter for `value`, creating its row if the bound allows, else the `__other__` row. */
  counter(value: string): RateCounter {
    let row = this.#rows.get(value);
    if (row === undefined) {
      if (this.#rows.size >= this.maxValues || value === OTHER_VALUE) return this.other;
      row = new RateCounter();
      this.#rows.set(value, row);
    }
    return row;
  }

  /** Counts one trial of `value`. */
  add(value: string, success: boolean): void {
    this.counter(value).add(success);
  }

  /** Adds another instance (same bound) into this one; rows beyond the bound go to `__other__`. */
  merge(other: CategoricalRates): this {
    for (const [value, counts] of other.#rows) this.counter(value).merge(counts);
    this.other.merge(other.other);
    return this;
  }

  /** A copy. */
  clone(): CategoricalRates {
    return new CategoricalRates(this.maxValues, this.#declared).merge(this);
  }

  /** Rows with at least one trial (the `__other__` row last, if used), with Wilson intervals. */
  rows(confidence = 0.95): CategoricalRateRow[] {
    const out: CategoricalRateRow[] = [];
    const push = (value: string, c: RateCounter) => {
      out.push({ value, successes: c.successes, trials: c.trials, ...c.interval(confidence) });
    };
    for (const [value, c] of this.#rows) if (c.trials > 0) push(value, c);
    if (this.other.trials > 0) push(OTHER_VALUE, this.other);
    return out;
  }

  /** The rows as counters, `__other__` included when used. */
  entries(): [string, RateCounter][] {
    const out = [...this.#rows];
    if (this.other.trials > 0) out.push([OTHER_VALUE, this.other]);
    return out;
  }

  /** All trials and successes together. */
  total(): RateCounter {
    const t = this.other.clone();
    for (const c of this.#rows.values()) t.merge(c);
    return t;
  }

  /** The JSON form. */
  toJSON(): CategoricalRatesJson {
    const rows: Record<string, RateCounterJson> = {};
    for (const [value, c] of this.#rows) rows[value] = c.toJSON();
    return {
      maxValues: this.maxValues,
      declared: [...this.#declared],
      rows,
      other: this.other.toJSON(),
    };
  }
}

/** Creates an empty {@link CategoricalRates} with a bound and optional always-kept values. */
export function createCategoricalRates(
  maxValues: number = DEFAULT_MAX_CATEGORICAL_VALUES,
  declared: readonly string[] = [],
): CategoricalRates {
  return new CategoricalRates(maxValues, declared);
}

/** Reads a {@link CategoricalRates} from its JSON form, naming `path` in errors. */
export function categoricalRatesFromJSON(json: unknown, path = ""): CategoricalRates {
  const o = readObject(json, path);
  const maxValues = readNumber(o.maxValues, `${path}/maxValues`, {
    min: 0,
    max: 100_000,
    integer: true,
  });
  const declared = readArray(o.declared, `${path}/declared`).map((v, i) =>
    readString(v, `${path}/declared/${i}`),
  );
  const rates = new CategoricalRates(maxValues, declared);
  const rows = Object.entries(readObject(o.rows, `${path}/rows`));
  if (rows.length > rates.maxValues) {
    throw UmbraError.invalid(`${path}/rows`, `must have at most maxValues (${maxValues}) rows`);
  }
  for (const [value, counts] of rows) {
    rates.counter(value).merge(rateCounterFromJSON(counts, `${path}/rows/${value}`));
  }
  rates.other.merge(rateCounterFromJSON(o.other, `${path}/other`));
  return rates;
}
