import { UmbraError } from "@umbra/protocol";
import { readArray, readCount } from "../internal/json-read.ts";
import { type RateInterval, wilsonBound, wilsonInterval } from "./wilson.ts";

/** The JSON form of a {@link RateCounter}: `[successes, trials]`. */
export type RateCounterJson = [successes: number, trials: number];

/**
 * A streaming proportion: successes out of trials, mergeable by adding counts. Wilson intervals
 * on demand.
 */
export class RateCounter {
  /** Trials that succeeded (for a divergence rate: divergent pairs). */
  successes = 0;
  /** All trials. */
  trials = 0;

  /** Counts one trial. */
  add(success: boolean): void {
    this.trials++;
    if (success) this.successes++;
  }

  /** Counts many trials at once. */
  addCounts(successes: number, trials: number): void {
    if (!(successes >= 0 && trials >= successes)) {
      throw UmbraError.invalid("successes", "must be between 0 and trials");
    }
    this.successes += successes;
    this.trials += trials;
  }

  /** Adds another counter's counts into this one. */
  merge(other: RateCounter): this {
    this.successes += other.successes;
    this.trials += other.trials;
    return this;
  }

  /** A copy. */
  clone(): RateCounter {
    return new RateCounter().merge(this);
  }

  /** successes ÷ trials, or `null` with no trials. */
  get rate(): number | null {
    return this.trials === 0 ? null : this.successes / this.trials;
  }

  /** The two-sided Wilson interval at `confidence`. */
  interval(confidence = 0.95): RateInterval {
    return wilsonInterval(this.successes, this.trials, confidence);
  }

  /** A one-sided Wilson bound at `confidence`. */
  bound(side: "upper" | "lower", confidence = 0.95): number {
    return wilsonBound(this.successes, this.trials, side, confidence);
  }

  /** The JSON form, `[successes, trials]`. */
  toJSON(): RateCounterJson {
    return [this.successes, this.trials];
  }
}

/** Creates an empty {@link RateCounter}. */
export function createRateCounter(): RateCounter {
  return new RateCounter();
}

/** Reads a {@link RateCounter} from its JSON form, naming `path` in errors. */
export function rateCounterFromJSON(json: unknown, path = ""): RateCounter {
  const [s, t] = readArray(json, path);
  const counter = new RateCounter();
  counter.successes = readCount(s, `${path}/0`);
  counter.trials = readCount(t, `${path}/1`);
  if (counter.successes > counter.trials) {
    throw UmbraError.invalid(`${path}/0`, "must be <= trials");
  }
  return counter;
}
