import { UmbraError } from "@umbra/protocol";
import { fnv1a32, splitmix32, xoshiro128ss } from "./internal/xoshiro128.ts";

/**
 * A seeded pseudo-random source: the same seed gives the same sequence on every machine and
 * every run. Not for cryptography.
 */
export interface Random {
  /** The seed as a string; `createRandom(seed)` with it reproduces this source. */
  readonly seed: string;
  /** A float in [0, 1) with 53 random bits. */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** An element chosen with probability proportional to its weight (weights ≥ 0, not all 0). */
  weighted<T>(choices: readonly (readonly [T, number])[]): T;
  /** A normally distributed number (Box–Muller). */
  normal(mean?: number, sd?: number): number;
  /** An exponentially distributed number with the given mean, e.g. Poisson inter-arrival times. */
  exponential(mean: number): number;
  /** `true` with probability `p`. */
  bernoulli(p: number): boolean;
  /** An RFC 4122 version-4-shaped UUID string (lowercase ASCII hex), drawn from this source. */
  uuid(): string;
  /**
   * An independent source derived from this one's seed and `label`. It depends only on the seed
   * and the label, not on how many numbers this source has drawn, so adding draws in one place
   * never shifts the numbers drawn elsewhere.
   */
  fork(label: string): Random;
}

const TWO_POW_26 = 67_108_864;
const TWO_POW_53 = 9_007_199_254_740_992;

/**
 * Creates a {@link Random} from `seed`. Numbers are turned into their decimal string, so
 * `createRandom(7)` and `createRandom("7")` are the same source. The generator is xoshiro128**
 * seeded through FNV-1a and splitmix32; the sequences are pinned by tests, so they only change
 * with a deliberate, documented change of the kit.
 *
 * @example
 * ```ts
 * const rng = createRandom(42);
 * const device = rng.pick(["mobile", "desktop", "tablet"]);
 * const latencyMs = Math.max(0, rng.normal(20, 5));
 * const ids = rng.fork("request-ids");
 * ```
 */
export function createRandom(seed: number | string): Random {
  if (typeof seed === "number" && !Number.isFinite(seed)) {
    throw UmbraError.invalid("seed", `must be a finite number or a string (got ${seed})`);
  }
  if (typeof seed !== "number" && typeof seed !== "string") {
    throw UmbraError.invalid("seed", "must be a finite number or a string");
  }
  const key = String(seed);
  const mix = splitmix32(fnv1a32(key));
  const nextU32 = xoshiro128ss([mix(), mix(), mix(), mix()]);

  const next = () => ((nextU32() >>> 5) * TWO_POW_26 + (nextU32() >>> 6)) / TWO_POW_53;

  const int = (min: number, max: number) => {
    if (!Number.isSafeInteger(min))
      throw UmbraError.invalid("min", `must be a safe integer (got ${min})`);
    if (!Number.isSafeInteger(max))
      throw UmbraError.invalid("max", `must be a safe integer (got ${max})`);
    if (max < min) throw UmbraError.invalid("max", `must be >= min (got min ${min}, max ${max})`);
    return min + Math.floor(next() * (max - min + 1));
  };

  const random: Random = {
    seed: key,
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (!Array.isArray(items) || items.length === 0) {
        throw UmbraError.invalid("items", "must be a non-empty array");
      }
      return items[int(0, items.length - 1)] as T;
    },
    weighted: <T>(choices: readonly (readonly [T, number])[]): T => {
      let total = 0;
      choices.forEach(([, weight], i) => {
        if (!Number.isFinite(weight) || weight < 0) {
          throw UmbraError.invalid(
            `choices[${i}][1]`,
            `must be a finite weight >= 0 (got ${weight})`,
          );
        }
        total += weight;
      });
      if (total <= 0) throw UmbraError.invalid("choices", "must have at least one positive weight");
      let point = next() * total;
      for (const [value, weight] of choices) {
        if (point < weight) return value;
        point -= weight;
      }
      // Floating-point leftovers land on the last choice with a positive weight.
      return [...choices].reverse().find(([, w]) => w > 0)?.[0] as T;
    },
    normal: (mean = 0, sd = 1) => {
      if (!Number.isFinite(mean)) throw UmbraError.invalid("mean", `must be finite (got ${mean})`);
      if (!Number.isFinite(sd) || sd < 0)
        throw UmbraError.invalid("sd", `must be finite and >= 0 (got ${sd})`);
      const u1 = 1 - next(); // (0, 1]: log(0) would be -Infinity.
      const u2 = next();
      return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    },
    exponential: (mean) => {
      if (!Number.isFinite(mean) || mean <= 0)
        throw UmbraError.invalid("mean", `must be finite and > 0 (got ${mean})`);
      return -Math.log(1 - next()) * mean;
    },
    bernoulli: (p) => {
      if (!(p >= 0 && p <= 1))
        throw UmbraError.invalid("p", `must be a probability in [0, 1] (got ${p})`);
      return next() < p;
    },
    uuid: () => {
      const hex = [nextU32(), nextU32(), nextU32(), nextU32()]
        .map((word) => word.toString(16).padStart(8, "0"))
        .join("");
      const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    },
    fork: (label) => {
      if (typeof label !== "string") throw UmbraError.invalid("label", "must be a string");
      return createRandom(`${key}/${label}`);
    },
  };
  return random;
}
