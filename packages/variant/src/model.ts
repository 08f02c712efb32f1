import type { ModelOutputLike, ParameterValue, Tensor, TensorSpec } from "@umbra/proto";
import { UmbraError } from "@umbra/protocol";

/**
 * What a model function receives besides its input. `signal` aborts when the caller's deadline
 * passes, the caller cancels, or the server shuts down: a model that can take long should stop
 * then (its answer would be dropped anyway).
 */
export interface ModelContext {
  /** The request id (`ModelInferRequest.id`). */
  readonly requestId: string;
  /** The model name the request asked for. */
  readonly model: string;
  /** Aborted when nobody waits for the answer any more. */
  readonly signal: AbortSignal;
  /** Whether this is a mirrored (shadow) request: metadata `x-umbra-shadow: 1`. */
  readonly isShadow: boolean;
  /**
   * Request parameters (e.g. `umbra_experiment`, `umbra_variant`, anything the caller added),
   * without the transport's own `umbra_header_*` and `umbra_timeout_ms`.
   */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  /** Call metadata: gRPC metadata, plus the per-call headers of a Mirror stream message. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The request's input tensors as they arrived (already validated). */
  readonly tensors: readonly Tensor[];
  /** Adds a response parameter, e.g. `umbra_cache_hit: true`. Strings, booleans, integers only. */
  setResponseParameter(name: string, value: ParameterValue): void;
}

/**
 * What a model function returns: any of `{ label, scores, embedding, text }` (vectors as
 * Float32Array or numbers), or an array of raw tensors.
 */
export type ModelResult = ModelOutputLike | readonly Tensor[];

/**
 * A model as a plain function. Its input is, by how the request's tensors look: a `Float32Array`
 * for one FP32 tensor (a feature vector, any shape); the decoded JSON-like value for one BYTES
 * tensor marked `umbra_encoding = "msgpack"` (what Umbra clients send for non-numeric input);
 * otherwise the array of raw {@link Tensor}s. Declare the parameter type you expect.
 */
export type ModelFunction = {
  // Method syntax makes the parameter bivariant, so `(features: Float32Array) => …` is accepted.
  bivarianceHack(input: unknown, context: ModelContext): ModelResult | Promise<ModelResult>;
}["bivarianceHack"];

/** A model with its metadata, for `serveVariant({ models })`. */
export interface ModelDefinition {
  /** Runs the model. */
  readonly predict: ModelFunction;
  /** The version `ModelMetadata` reports; a request naming another version gets NOT_FOUND. */
  readonly version?: string;
  /** `ModelMetadata.platform`. Default `"umbra_js"`. */
  readonly platform?: string;
  /**
   * Declared inputs. When given, every request must carry exactly these tensors, with these data
   * types and compatible shapes (-1 matches any size); otherwise INVALID_ARGUMENT names the input.
   */
  readonly inputs?: readonly TensorSpec[];
  /** Declared outputs, reported by `ModelMetadata`. */
  readonly outputs?: readonly TensorSpec[];
  /** `"auto"` (default) decodes the input as described at {@link ModelFunction}; `"tensors"` always passes raw tensors. */
  readonly input?: "auto" | "tensors";
  /** Whether the model can serve right now (`ModelReady`); default always. */
  readonly ready?: () => boolean;
}

/** A model definition with its name, as the server keeps it. */
export interface NamedModel extends ModelDefinition {
  readonly name: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Checks `models` and returns them named; throws `invalid_argument` naming `models.<name>`. */
export function namedModels(
  models: Readonly<Record<string, ModelFunction | ModelDefinition>>,
): NamedModel[] {
  if (typeof models !== "object" || models === null) {
    throw UmbraError.invalid("models", "must be an object of model functions or definitions");
  }
  const out: NamedModel[] = [];
  for (const [name, m] of Object.entries(models)) {
    if (!NAME.test(name)) {
      throw UmbraError.invalid(
        `models.${name}`,
        "name must be 1-128 characters of A-Z, a-z, 0-9, '_', '.', '-', starting with a letter or digit",
      );
    }
    const definition: ModelDefinition = typeof m === "function" ? { predict: m } : m;
    if (typeof definition?.predict !== "function") {
      throw UmbraError.invalid(`models.${name}`, "must be a function or an object with predict()");
    }
    if (
      definition.input !== undefined &&
      definition.input !== "auto" &&
      definition.input !== "tensors"
    ) {
      throw UmbraError.invalid(`models.${name}.input`, `must be "auto" or "tensors"`);
    }
    out.push({ ...definition, name });
  }
  if (out.length === 0) throw UmbraError.invalid("models", "must hold at least one model");
  return out;
}
