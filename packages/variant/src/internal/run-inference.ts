import {
  decodeModelInput,
  encodeModelOutput,
  MirrorParameters,
  type ModelInferRequest,
  type ModelInferResponse,
  type ParameterValue,
  parametersFromWire,
  parametersToWire,
  type Tensor,
  type TensorSpec,
  tensorsFromWire,
  tensorsToWire,
} from "@umbra/proto";
import { Parameters, SHADOW_HEADER, UmbraError } from "@umbra/protocol";
import type { ModelContext, ModelResult, NamedModel } from "../model.ts";
import { guardStats, startShadowRun } from "../shadow-guard.ts";

/** One call to run, however it arrived (unary call or stream message). */
export interface InferenceCall {
  readonly request: ModelInferRequest;
  /** Call metadata (for stream messages: the stream's merged with the message's headers). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Request parameters with the transport's own keys removed. */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly signal: AbortSignal;
}

/** Splits a stream message's parameters into per-call headers, the timeout and the rest. */
export function splitStreamParameters(parameters: Readonly<Record<string, ParameterValue>>): {
  headers: Record<string, string>;
  timeoutMs: number | undefined;
  rest: Record<string, ParameterValue>;
} {
  const headers: Record<string, string> = {};
  const rest: Record<string, ParameterValue> = {};
  let timeoutMs: number | undefined;
  for (const [k, v] of Object.entries(parameters)) {
    if (k.startsWith(MirrorParameters.headerPrefix)) {
      if (typeof v === "string") headers[k.slice(MirrorParameters.headerPrefix.length)] = v;
    } else if (k === MirrorParameters.timeoutMs) {
      if (typeof v === "number" && v > 0) timeoutMs = v;
    } else {
      rest[k] = v;
    }
  }
  return { headers, timeoutMs, rest };
}

function checkDeclaredInputs(tensors: readonly Tensor[], declared: readonly TensorSpec[]): void {
  const byName = new Map(tensors.map((t, i) => [t.name, { t, i }]));
  for (const spec of declared) {
    const found = byName.get(spec.name);
    if (found === undefined) {
      throw UmbraError.invalid(
        "inputs",
        `missing input "${spec.name}" (${spec.datatype} [${spec.shape.join(",")}]); the request has ${tensors.length === 0 ? "no inputs" : tensors.map((t) => `"${t.name}"`).join(", ")}`,
      );
    }
    const { t, i } = found;
    const where = `inputs[${i}] "${t.name}"`;
    if (t.datatype !== spec.datatype) {
      throw UmbraError.invalid(where, `datatype must be ${spec.datatype} (got ${t.datatype})`);
    }
    const fits =
      t.shape.length === spec.shape.length &&
      spec.shape.every((d, j) => d === -1 || d === t.shape[j]);
    if (!fits) {
      throw UmbraError.invalid(
        where,
        `shape [${t.shape.join(",")}] does not match the declared [${spec.shape.join(",")}] (-1 is any size)`,
      );
    }
  }
  const names = new Set(declared.map((s) => s.name));
  for (const [i, t] of tensors.entries()) {
    if (!names.has(t.name)) {
      throw UmbraError.invalid(
        `inputs[${i}] "${t.name}"`,
        `is not an input of this model (inputs: ${declared.map((s) => `"${s.name}"`).join(", ")})`,
      );
    }
  }
}

function modelFailure(model: string, error: unknown): UmbraError {
  const e = UmbraError.from(error);
  // A model may reject bad input itself (invalid_argument) or report that it cannot serve
  // (unavailable); any other failure is the model's, not the caller's.
  if (e.code === "invalid_argument" || e.code === "unavailable" || e.code === "not_found") {
    return e;
  }
  return new UmbraError("internal", `model ${model} failed: ${e.message}`, { cause: error });
}

/** What a finished call produced, before it is sent. */
export interface InferenceOutcome {
  readonly response: ModelInferResponse;
  readonly isShadow: boolean;
  readonly sideEffectAttempts: number;
}

/**
 * Runs one inference: checks the request's tensors (and the model's declared inputs), decodes the
 * input, runs the model — inside a shadow scope when the call is marked shadow — and encodes its
 * answer. Throws an UmbraError for the caller: `invalid_argument` naming the input, `internal`
 * for a failing model or an answer that breaks the contract.
 */
export async function runInference(
  model: NamedModel,
  call: InferenceCall,
): Promise<InferenceOutcome> {
  const { request } = call;
  const tensors = tensorsFromWire(request.inputs ?? [], request.raw_input_contents, "inputs");
  if (model.inputs !== undefined) checkDeclaredInputs(tensors, model.inputs);
  const input = model.input === "tensors" ? tensors : decodeModelInput(tensors).value;
  const isShadow = call.metadata[SHADOW_HEADER] === "1";
  const responseParameters: Record<string, ParameterValue> = {};
  const requestId = request.id ?? "";
  const context: ModelContext = {
    requestId,
    model: model.name,
    signal: call.signal,
    isShadow,
    parameters: call.parameters,
    metadata: call.metadata,
    tensors,
    setResponseParameter(name, value) {
      parametersToWire({ [name]: value }, "response parameters");
      responseParameters[name] = value;
    },
  };
  const predict = () => Promise.resolve().then(() => model.predict(input, context));
  let result: ModelResult;
  let attempts = 0;
  try {
    if (isShadow) {
      const run = startShadowRun(requestId, predict);
      try {
        result = await run.result;
      } finally {
        attempts = run.attempts();
      }
    } else {
      result = await predict();
    }
  } catch (error) {
    throw modelFailure(model.name, error);
  }
  let outputs: Tensor[];
  try {
    outputs = encodeModelOutput(result);
  } catch (cause) {
    throw new UmbraError(
      "internal",
      `model ${model.name} returned an invalid output: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  const requested = request.outputs ?? [];
  if (requested.length > 0) {
    const byName = new Map(outputs.map((t) => [t.name, t]));
    outputs = requested.map((r, i) => {
      const t = byName.get(r.name);
      if (t === undefined) {
        throw UmbraError.invalid(
          `outputs[${i}] "${r.name}"`,
          `is not an output of model ${model.name} (outputs: ${[...byName.keys()].map((n) => `"${n}"`).join(", ")})`,
        );
      }
      return t;
    });
  }
  if (isShadow && guardStats().installed)
    responseParameters[Parameters.sideEffectAttempts] = attempts;
  const wire = tensorsToWire(outputs);
  return {
    response: {
      model_name: model.name,
      model_version: model.version ?? "",
      id: requestId,
      parameters: parametersToWire(responseParameters),
      outputs: wire.tensors,
      raw_output_contents: wire.raw,
    },
    isShadow,
    sideEffectAttempts: attempts,
  };
}

/** Reads decoded request parameters; a malformed one is the caller's error. */
export function requestParameters(request: ModelInferRequest): Record<string, ParameterValue> {
  return parametersFromWire(request.parameters, "parameters");
}
