// The convention by which Umbra clients and variant servers map model inputs and outputs onto
// OIP tensors. Both sides live here so they cannot drift apart.
import { decodeValue, encodeValue, UmbraError } from "@umbra/protocol";
import {
  DEFAULT_INPUT_NAME,
  MSGPACK_ENCODING,
  OutputTensorNames,
  TENSOR_ENCODING_PARAMETER,
} from "./names.ts";
import {
  bytesTensor,
  decodeBytesElements,
  elementCount,
  fp32Tensor,
  readFloat32,
  readStrings,
  type Tensor,
  validateTensor,
} from "./tensors.ts";

/**
 * A model input encoded once, so it can be shared by every variant it is mirrored to:
 * `f32` is a feature vector as little-endian float32 bytes (sent as one FP32 tensor), `msgpack`
 * is any other JSON-like value as standard msgpack (sent as one BYTES tensor).
 */
export interface EncodedInput {
  readonly kind: "f32" | "msgpack";
  readonly bytes: Uint8Array;
}

/**
 * A model's answer in the shape Umbra compares: any of a label, class scores, an embedding and
 * a text. On the wire each is one output tensor named after its field (see `OutputTensorNames`).
 */
export interface ModelOutput {
  readonly label?: string;
  readonly scores?: Float32Array;
  readonly embedding?: Float32Array;
  readonly text?: string;
}

/** What a model function may return as a {@link ModelOutput}: vectors as Float32Array or numbers. */
export interface ModelOutputLike {
  readonly label?: string;
  readonly scores?: Float32Array | readonly number[];
  readonly embedding?: Float32Array | readonly number[];
  readonly text?: string;
}

function isNumberArray(v: unknown): v is readonly number[] {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const x of v) if (typeof x !== "number") return false;
  return true;
}

/**
 * Encodes a model input once. A `Float32Array`, or a non-empty array of numbers (rounded to
 * float32), is a feature vector → `f32`; anything else is a JSON-like value → `msgpack` (typed
 * arrays inside travel as `{ $dtype, $bytes }`, see `@umbra/protocol` `encodeValue`). Throws an
 * `invalid_argument` UmbraError naming `input` when the value cannot be encoded.
 */
export function encodeModelInput(input: unknown): EncodedInput {
  if (input instanceof Float32Array) {
    return {
      kind: "f32",
      bytes: new Uint8Array(
        input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength),
      ),
    };
  }
  if (isNumberArray(input)) {
    return { kind: "f32", bytes: new Uint8Array(Float32Array.from(input).buffer) };
  }
  try {
    return { kind: "msgpack", bytes: encodeValue(input) };
  } catch (cause) {
    if (cause instanceof UmbraError) throw UmbraError.invalid("input", cause.message, cause);
    throw UmbraError.invalid(
      "input",
      `cannot be encoded as msgpack (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    );
  }
}

/**
 * The input tensor for an encoded input: `f32` → FP32 of shape `[1, n]` (a batch of one);
 * `msgpack` → BYTES of shape `[1]` marked `umbra_encoding = "msgpack"`.
 */
export function inputTensorOf(input: EncodedInput, name = DEFAULT_INPUT_NAME): Tensor {
  if (input.kind === "f32") {
    if (input.bytes.byteLength % 4 !== 0) {
      throw UmbraError.invalid(
        "input.bytes",
        `f32 input must be a multiple of 4 bytes (got ${input.bytes.byteLength})`,
      );
    }
    return validateTensor(
      { name, datatype: "FP32", shape: [1, input.bytes.byteLength / 4], data: input.bytes },
      "input",
    );
  }
  if (input.kind === "msgpack") {
    const t = bytesTensor(name, [input.bytes], [1]);
    return { ...t, parameters: { [TENSOR_ENCODING_PARAMETER]: MSGPACK_ENCODING } };
  }
  throw UmbraError.invalid(
    "input.kind",
    `must be "f32" or "msgpack" (got ${String((input as { kind: unknown }).kind)})`,
  );
}

/** How a variant server hands a request's inputs to a model function. */
export type DecodedModelInput =
  | { readonly kind: "features"; readonly value: Float32Array }
  | { readonly kind: "json"; readonly value: unknown }
  | { readonly kind: "tensors"; readonly value: readonly Tensor[] };

/**
 * Decodes request tensors for a model: exactly one FP32 tensor → its values as a feature vector
 * (any shape); exactly one BYTES tensor marked `umbra_encoding = "msgpack"` → the decoded
 * JSON-like value; anything else → the tensors as they are. Throws `invalid_argument` naming the
 * input for a malformed msgpack element.
 */
export function decodeModelInput(tensors: readonly Tensor[]): DecodedModelInput {
  const only = tensors.length === 1 ? tensors[0] : undefined;
  if (only?.datatype === "FP32") return { kind: "features", value: readFloat32(only) };
  if (
    only?.datatype === "BYTES" &&
    only.parameters?.[TENSOR_ENCODING_PARAMETER] === MSGPACK_ENCODING
  ) {
    const where = `inputs[0] "${only.name}"`;
    const elements = decodeBytesElements(only.data, undefined, where);
    if (elements.length !== 1 || elementCount(only.shape) !== 1) {
      throw UmbraError.invalid(
        where,
        `a msgpack input must hold exactly one element (got ${elements.length})`,
      );
    }
    return { kind: "json", value: decodeValue(elements[0] as Uint8Array, where) };
  }
  return { kind: "tensors", value: tensors };
}

const outputKeys = new Set<string>(Object.keys(OutputTensorNames));

function vector(value: unknown, field: string): Float32Array {
  if (value instanceof Float32Array) return value;
  if (Array.isArray(value) && value.every((x) => typeof x === "number"))
    return Float32Array.from(value);
  throw UmbraError.invalid(field, "must be a Float32Array or an array of numbers");
}

/**
 * Whether `value` is an array of tensors (the raw form of a model output), judged by shape.
 */
export function isTensorArray(value: unknown): value is readonly Tensor[] {
  return (
    Array.isArray(value) &&
    value.every(
      (t) => typeof t === "object" && t !== null && "name" in t && "datatype" in t && "data" in t,
    )
  );
}

/**
 * The output tensors for what a model returned: a {@link ModelOutputLike} becomes one tensor per
 * field (label/text BYTES `[1]`, scores/embedding FP32 `[1, n]`); an array of tensors is checked
 * and kept. Throws `invalid_argument` naming the offending field otherwise.
 */
export function encodeModelOutput(output: unknown): Tensor[] {
  if (isTensorArray(output)) {
    if (output.length === 0) throw UmbraError.invalid("output", "must hold at least one tensor");
    return output.map((t, i) => validateTensor(t, `output[${i}]`));
  }
  if (typeof output !== "object" || output === null || Array.isArray(output)) {
    throw UmbraError.invalid(
      "output",
      `must be an object with label, scores, embedding or text, or an array of tensors (got ${output === null ? "null" : Array.isArray(output) ? "an array" : typeof output})`,
    );
  }
  const o = output as Record<string, unknown>;
  const tensors: Tensor[] = [];
  for (const key of Object.keys(o)) {
    if (!outputKeys.has(key) && o[key] !== undefined) {
      throw UmbraError.invalid(
        `output.${key}`,
        "is not an output field (label, scores, embedding, text)",
      );
    }
  }
  for (const key of ["label", "text"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== "string")
      throw UmbraError.invalid(`output.${key}`, `must be a string (got ${typeof v})`);
    tensors.push(bytesTensor(OutputTensorNames[key], [v], [1]));
  }
  for (const key of ["scores", "embedding"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    const f32 = vector(v, `output.${key}`);
    tensors.push(fp32Tensor(OutputTensorNames[key], f32, [1, f32.length]));
  }
  if (tensors.length === 0) {
    throw UmbraError.invalid("output", "must have at least one of label, scores, embedding, text");
  }
  return tensors;
}

/** Where each {@link ModelOutput} field is read from: output tensor names, by default the field names. */
export type OutputNames = { readonly [K in keyof ModelOutput]-?: string };

/**
 * The {@link ModelOutput} of response tensors: `label`/`text` from one-element BYTES tensors
 * (UTF-8), `scores`/`embedding` from FP32 tensors, found by `names`. Tensors that are absent leave
 * their field out. Throws `invalid_argument` naming the tensor when one has the wrong type or size.
 */
export function decodeModelOutput(
  tensors: readonly Tensor[],
  names: OutputNames = OutputTensorNames,
): ModelOutput {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const out: { -readonly [K in keyof ModelOutput]: ModelOutput[K] } = {};
  for (const key of ["label", "text"] as const) {
    const t = byName.get(names[key]);
    if (t === undefined) continue;
    if (t.datatype !== "BYTES") {
      throw UmbraError.invalid(`outputs "${t.name}"`, `${key} must be BYTES (got ${t.datatype})`);
    }
    const strings = readStrings(t);
    if (strings.length !== 1) {
      throw UmbraError.invalid(
        `outputs "${t.name}"`,
        `${key} must hold one element (got ${strings.length})`,
      );
    }
    out[key] = strings[0] as string;
  }
  for (const key of ["scores", "embedding"] as const) {
    const t = byName.get(names[key]);
    if (t === undefined) continue;
    if (t.datatype !== "FP32") {
      throw UmbraError.invalid(`outputs "${t.name}"`, `${key} must be FP32 (got ${t.datatype})`);
    }
    out[key] = readFloat32(t);
  }
  return out;
}
