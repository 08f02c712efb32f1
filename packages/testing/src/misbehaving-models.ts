import { UmbraError, UmbraErrorCode } from "@umbra/protocol";
import type { Random } from "./random.ts";

/** What a model function receives besides its input. */
export interface ModelContext {
  /** Aborted when the caller gives up (deadline, shutdown); well-behaved models stop then. */
  readonly signal?: AbortSignal;
}

/** A model as a plain function: the shape every misbehaving model here takes and returns. */
export type ModelFunction = (input: unknown, context: ModelContext) => unknown;

/**
 * A model that never answers: the returned promise settles only when `context.signal` aborts,
 * then rejects with a `cancelled` {@link UmbraError} whose cause is the abort reason. Without a
 * signal it stays pending forever (it holds no timer, so it keeps no process alive).
 */
export function hangingModel(): ModelFunction {
  return (_input, context) =>
    new Promise<never>((_resolve, reject) => {
      const signal = context?.signal;
      if (signal === undefined) return;
      const abort = () =>
        reject(
          new UmbraError(UmbraErrorCode.Cancelled, "hanging model aborted", {
            cause: signal.reason,
          }),
        );
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
    });
}

/** Options of {@link throwingModel}. */
export interface ThrowingModelOptions {
  /** `"sync"` throws from the call itself; `"async"` returns a rejected promise. Default `"sync"`. */
  readonly mode?: "sync" | "async";
}

/**
 * A model that fails every call with `new Error(message)`, thrown synchronously by default (the
 * harsher case for callers that only handle rejections) or as a rejected promise.
 */
export function throwingModel(message: string, options: ThrowingModelOptions = {}): ModelFunction {
  if (options.mode === "async") {
    return async () => {
      throw new Error(message);
    };
  }
  return () => {
    throw new Error(message);
  };
}

/** Options of {@link slowModel}. */
export interface SlowModelOptions {
  /** The least extra delay per call, for models too fast for `factor` to matter. Default 0. */
  readonly minDelayMs?: number;
}

/**
 * Wraps `inner` so that each call takes about `factor` times as long: after `inner` answers in
 * `t` ms, the answer is held back `max((factor − 1)·t, minDelayMs)` more. The extra wait honours
 * `context.signal` (rejecting with `cancelled`), so a caller's deadline cleans it up.
 */
export function slowModel(
  inner: ModelFunction,
  factor: number,
  options: SlowModelOptions = {},
): ModelFunction {
  if (typeof inner !== "function") throw UmbraError.invalid("inner", "must be a model function");
  if (!Number.isFinite(factor) || factor < 1) {
    throw UmbraError.invalid("factor", `must be a finite number >= 1 (got ${factor})`);
  }
  const minDelayMs = options.minDelayMs ?? 0;
  if (!Number.isFinite(minDelayMs) || minDelayMs < 0) {
    throw UmbraError.invalid("minDelayMs", `must be a finite number >= 0 (got ${minDelayMs})`);
  }
  return async (input, context) => {
    const started = performance.now();
    const output = await inner(input, context);
    const elapsedMs = performance.now() - started;
    await abortableDelay(Math.max((factor - 1) * elapsedMs, minDelayMs), context?.signal);
    return output;
  };
}

/**
 * The malformed answers {@link garbageModel} cycles through: wrong types, non-finite numbers,
 * values JSON and msgpack cannot carry, a cycle, broken text. Each entry builds a fresh value.
 */
export const GARBAGE_OUTPUTS: readonly (() => unknown)[] = [
  () => undefined,
  () => null,
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => "{not json",
  () => ({ label: 42, score: "high" }),
  () => ({ score: Number.NaN, embedding: [1, "two", null] }),
  () => [[[[]]]],
  () => 10n,
  () => Symbol("garbage"),
  () => () => "a function",
  () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    return cyclic;
  },
  () => "\ud800 lone surrogate",
  () => new Float32Array([Number.NaN, 1.5]),
];

/** Options of {@link garbageModel}. */
export interface GarbageModelOptions {
  /** Picks outputs at random from this source instead of in order. */
  readonly rng?: Random;
}

/**
 * A model that answers, but with malformed outputs: by default each call returns the next of
 * {@link GARBAGE_OUTPUTS} in order (so a test of N calls sees every kind), or a random one when
 * `rng` is given.
 */
export function garbageModel(options: GarbageModelOptions = {}): ModelFunction {
  let call = 0;
  return () => {
    const index =
      options.rng === undefined
        ? call % GARBAGE_OUTPUTS.length
        : options.rng.int(0, GARBAGE_OUTPUTS.length - 1);
    call += 1;
    return (GARBAGE_OUTPUTS[index] as () => unknown)();
  };
}

/**
 * Wraps `inner` so that each call fails with probability `errorRate` (a rejected promise with
 * an `Error("flaky model failure")`), decided by the seeded `rng` so the same seed fails the
 * same calls. Otherwise it answers as `inner` does.
 */
export function flakyModel(inner: ModelFunction, errorRate: number, rng: Random): ModelFunction {
  if (typeof inner !== "function") throw UmbraError.invalid("inner", "must be a model function");
  if (!(errorRate >= 0 && errorRate <= 1)) {
    throw UmbraError.invalid("errorRate", `must be a probability in [0, 1] (got ${errorRate})`);
  }
  return async (input, context) => {
    if (rng.bernoulli(errorRate)) throw new Error("flaky model failure");
    return inner(input, context);
  };
}

function abortableDelay(delayMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () =>
      new UmbraError(UmbraErrorCode.Cancelled, "slow model aborted", { cause: signal?.reason });
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
