import type { Tensor } from "@umbra/proto";
import { UmbraError } from "@umbra/protocol";
import type { ModelContext, ModelDefinition, ModelFunction } from "../model.ts";
import { hang, sleep } from "./knobs.ts";

/** A model that never answers; it rejects with `cancelled` when its call's signal aborts. */
export function hangingModel(): ModelDefinition {
  return { predict: (_input: unknown, context: ModelContext) => hang(context.signal) };
}

/** A model that fails every call with `Error(message)` (the server answers INTERNAL). */
export function throwingModel(message = "model failure"): ModelDefinition {
  return {
    predict: () => {
      throw new Error(message);
    },
  };
}

/**
 * Outputs that break the contract, in the order {@link garbageModel} returns them: tensors whose
 * raw size does not match their shape, an unknown datatype, BYTES with a bad length prefix, a
 * non-tensor value, an empty object, a label that is not a string.
 */
export const GARBAGE_OUTPUTS: readonly (() => unknown)[] = [
  (): Tensor[] => [{ name: "scores", datatype: "FP32", shape: [1, 4], data: new Uint8Array(7) }],
  () => [{ name: "scores", datatype: "FP8", shape: [1], data: new Uint8Array(1) }],
  (): Tensor[] => [
    { name: "label", datatype: "BYTES", shape: [1], data: new Uint8Array([9, 0, 0, 0, 1]) },
  ],
  () => 42,
  () => ({}),
  () => ({ label: 7 }),
];

/** A model whose every answer is malformed, cycling through {@link GARBAGE_OUTPUTS}; the server answers INTERNAL. */
export function garbageModel(): ModelDefinition {
  let n = 0;
  return {
    predict: () => {
      const make = GARBAGE_OUTPUTS[n++ % GARBAGE_OUTPUTS.length] as () => unknown;
      return make() as never;
    },
  };
}

/**
 * Wraps a model so that each call takes `factor` times as long (at least `minDelayMs` more): the
 * answer is held back by `(factor − 1) × the inner model's time`. The wait honours the signal.
 */
export function slowModel(
  inner: ModelFunction | ModelDefinition,
  factor: number,
  minDelayMs = 0,
): ModelDefinition {
  if (!Number.isFinite(factor) || factor < 1)
    throw UmbraError.invalid("factor", `must be a number >= 1 (got ${factor})`);
  const definition: ModelDefinition = typeof inner === "function" ? { predict: inner } : inner;
  return {
    ...definition,
    predict: async (input: unknown, context: ModelContext) => {
      const started = performance.now();
      const result = await definition.predict(input, context);
      const tookMs = performance.now() - started;
      await sleep(Math.max((factor - 1) * tookMs, minDelayMs), context.signal);
      return result;
    },
  };
}
