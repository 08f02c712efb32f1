import type { ParameterValue } from "@umbra/proto";
import { UmbraError } from "@umbra/protocol";
import type { ModelContext, ModelFunction, ModelResult } from "../model.ts";
import { seededRandom } from "./seeded-random.ts";

/**
 * How a reference model misbehaves, all of it reproducible from `seed`. Each call draws the same
 * five numbers in the same order (hang, error, jitter, side effect, divergence), so a given seed
 * and call order always give the same run.
 */
export interface ReferenceKnobs {
  /** Seed of the model's misbehaviour (not of its answers). Default `"umbra"`. */
  readonly seed?: string | number;
  /** Added latency per call: `baseMs` plus a uniform draw in `[0, jitterMs)`. Default none. */
  readonly latency?: { readonly baseMs?: number; readonly jitterMs?: number };
  /** Multiplies the latency (e.g. 50 for "50× slower"); with no latency set, 1 ms × factor. */
  readonly slowFactor?: number;
  /** Probability that a call fails with an internal error. Default 0. */
  readonly errorRate?: number;
  /** Probability that a call never answers (until its deadline aborts it). Default 0. */
  readonly hangProbability?: number;
  /** A cold cache: the first `calls` calls take `extraMs` longer. */
  readonly warmup?: { readonly calls: number; readonly extraMs: number };
  /**
   * Diverge on one segment: when the input's field `field` (JSON inputs) or else the request
   * parameter of that name equals `value`, the answer differs from the reference answer, with
   * probability `rate` (default 1).
   */
  readonly divergence?: { readonly field: string; readonly value: string; readonly rate?: number };
  /**
   * A side effect: with probability `probability` (default 1) a call first tries
   * `fetch(url, { method: "POST" })` and ignores its failure. The shadow guard blocks and counts
   * it in shadow calls; production calls really send it.
   */
  readonly sideEffect?: { readonly url: string; readonly probability?: number };
}

/** The deterministic part of a reference model: the answer, possibly diverged. */
export type ReferenceCore = (
  input: unknown,
  context: ModelContext,
  diverge: boolean,
) => ModelResult;

function probability(field: string, p: number | undefined): number {
  const v = p ?? 0;
  if (!Number.isFinite(v) || v < 0 || v > 1)
    throw UmbraError.invalid(field, `must be a number from 0 to 1 (got ${p})`);
  return v;
}

function nonNegative(field: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!Number.isFinite(x) || x < 0)
    throw UmbraError.invalid(field, `must be a finite number >= 0 (got ${v})`);
  return x;
}

/** Waits `ms`, or rejects with `cancelled` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(new UmbraError("cancelled", "the call was aborted", { cause: signal.reason }));
    };
    if (signal.aborted) return abort();
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}

/** Never settles until `signal` aborts, then rejects with `cancelled`. Holds no timer. */
export function hang(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    const abort = () =>
      reject(new UmbraError("cancelled", "the call was aborted", { cause: signal.reason }));
    if (signal.aborted) abort();
    else signal.addEventListener("abort", abort, { once: true });
  });
}

/** The segment value of `field`: the JSON input's field, else the request parameter. */
export function segmentValue(
  field: string,
  input: unknown,
  parameters: Readonly<Record<string, ParameterValue>>,
): string | undefined {
  if (
    typeof input === "object" &&
    input !== null &&
    !ArrayBuffer.isView(input) &&
    !Array.isArray(input)
  ) {
    const v = (input as Record<string, unknown>)[field];
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
  }
  const p = parameters[field];
  return p === undefined ? undefined : String(p);
}

/** Checks `knobs` (errors name `knobs.<field>`) and wraps `core` in the misbehaviour they describe. */
export function withKnobs(core: ReferenceCore, knobs: ReferenceKnobs = {}): ModelFunction {
  const errorRate = probability("knobs.errorRate", knobs.errorRate);
  const hangProbability = probability("knobs.hangProbability", knobs.hangProbability);
  const baseMs = nonNegative("knobs.latency.baseMs", knobs.latency?.baseMs);
  const jitterMs = nonNegative("knobs.latency.jitterMs", knobs.latency?.jitterMs);
  const slowFactor = knobs.slowFactor ?? 1;
  if (!Number.isFinite(slowFactor) || slowFactor < 1) {
    throw UmbraError.invalid("knobs.slowFactor", `must be a number >= 1 (got ${knobs.slowFactor})`);
  }
  const warmupCalls = nonNegative("knobs.warmup.calls", knobs.warmup?.calls);
  const warmupMs = nonNegative("knobs.warmup.extraMs", knobs.warmup?.extraMs);
  const divergence = knobs.divergence;
  const divergenceRate =
    divergence === undefined ? 0 : probability("knobs.divergence.rate", divergence.rate ?? 1);
  if (
    divergence !== undefined &&
    (typeof divergence.field !== "string" || divergence.field === "")
  ) {
    throw UmbraError.invalid("knobs.divergence.field", "must be a non-empty string");
  }
  const sideEffect = knobs.sideEffect;
  const sideEffectProbability =
    sideEffect === undefined
      ? 0
      : probability("knobs.sideEffect.probability", sideEffect.probability ?? 1);
  if (sideEffect !== undefined) {
    try {
      new URL(sideEffect.url);
    } catch (cause) {
      throw UmbraError.invalid(
        "knobs.sideEffect.url",
        `must be an absolute URL (got ${JSON.stringify(sideEffect.url)})`,
        cause,
      );
    }
  }
  const random = seededRandom(knobs.seed ?? "umbra");
  let calls = 0;

  return async (input: unknown, context: ModelContext): Promise<ModelResult> => {
    const n = calls++;
    const [hangDraw, errorDraw, jitterDraw, sideEffectDraw, divergeDraw] = [
      random(),
      random(),
      random(),
      random(),
      random(),
    ] as [number, number, number, number, number];
    if (sideEffect !== undefined && sideEffectDraw < sideEffectProbability) {
      try {
        await fetch(sideEffect.url, {
          method: "POST",
          body: context.requestId,
          signal: context.signal,
        });
      } catch {
        // Telemetry-style code: a failed write does not fail the prediction.
      }
    }
    if (hangDraw < hangProbability) return hang(context.signal);
    let latencyMs = (baseMs + jitterDraw * jitterMs) * slowFactor;
    if (latencyMs === 0 && slowFactor > 1) latencyMs = slowFactor;
    if (n < warmupCalls) latencyMs += warmupMs;
    if (latencyMs > 0) await sleep(latencyMs, context.signal);
    if (errorDraw < errorRate) throw new UmbraError("internal", "injected error (knobs.errorRate)");
    const diverge =
      divergence !== undefined &&
      divergeDraw < divergenceRate &&
      segmentValue(divergence.field, input, context.parameters) === divergence.value;
    return core(input, context, diverge);
  };
}
