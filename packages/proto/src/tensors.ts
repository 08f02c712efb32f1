import { UmbraError } from "@umbra/protocol";
import type {
  InferInputTensor,
  InferOutputTensor,
  InferTensorContents,
  Int64Input,
} from "./messages.ts";
import { type ParameterValue, parametersFromWire, parametersToWire } from "./parameters.ts";

/** The tensor data types of the Open Inference Protocol (plus BF16, which Triton also serves). */
export const Datatype = {
  BOOL: "BOOL",
  UINT8: "UINT8",
  UINT16: "UINT16",
  UINT32: "UINT32",
  UINT64: "UINT64",
  INT8: "INT8",
  INT16: "INT16",
  INT32: "INT32",
  INT64: "INT64",
  FP16: "FP16",
  BF16: "BF16",
  FP32: "FP32",
  FP64: "FP64",
  BYTES: "BYTES",
} as const;

/** One of the {@link Datatype} names. */
export type Datatype = (typeof Datatype)[keyof typeof Datatype];

/** Size in bytes of one element of each fixed-size data type (from the specification's table). */
export const DATATYPE_SIZE_BYTES: Readonly<Record<Exclude<Datatype, "BYTES">, number>> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  BF16: 2,
  FP32: 4,
  FP64: 8,
};

const datatypes = new Set<string>(Object.values(Datatype));

/** Whether `s` is one of the {@link Datatype} names. */
export function isDatatype(s: unknown): s is Datatype {
  return typeof s === "string" && datatypes.has(s);
}

/**
 * A tensor as Umbra handles it: name, data type, shape, and the raw contents in the
 * specification's raw layout — flattened, row-major, little-endian; for BYTES, each element a
 * 4-byte little-endian length followed by that many bytes.
 */
export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  /** Tensor parameters, if any. */
  readonly parameters?: Readonly<Record<string, ParameterValue>>;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndian(): void {
  // Typed-array views are used as the wire's little-endian layout; a big-endian host would
  // silently swap every element.
  if (!littleEndian) throw new UmbraError("internal", "big-endian hosts are not supported");
}

/** The number of elements a shape holds (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function describe(field: string, name: string): string {
  return name === "" ? field : `${field} "${name}"`;
}

function checkShape(shape: readonly number[], where: string): void {
  for (const [i, d] of shape.entries()) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw UmbraError.invalid(where, `shape[${i}] must be an integer >= 0 (got ${d})`);
    }
  }
  if (!Number.isSafeInteger(elementCount(shape))) {
    throw UmbraError.invalid(where, `shape [${shape.join(",")}] holds too many elements`);
  }
}

/**
 * Splits the raw contents of a BYTES tensor into its elements (views, no copy). Throws an
 * `invalid_argument` UmbraError naming `field` when a length prefix runs past the end, when
 * bytes are left over, or when the count differs from `expectedCount`.
 */
export function decodeBytesElements(
  data: Uint8Array,
  expectedCount?: number,
  field = "tensor",
): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < data.byteLength) {
    if (pos + 4 > data.byteLength) {
      throw UmbraError.invalid(
        field,
        `BYTES element ${out.length}: a 4-byte length prefix needs ${pos + 4 - data.byteLength} more byte(s)`,
      );
    }
    const length = view.getUint32(pos, true);
    pos += 4;
    if (pos + length > data.byteLength) {
      throw UmbraError.invalid(
        field,
        `BYTES element ${out.length}: length prefix ${length} runs ${pos + length - data.byteLength} byte(s) past the end`,
      );
    }
    out.push(data.subarray(pos, pos + length));
    pos += length;
  }
  if (expectedCount !== undefined && out.length !== expectedCount) {
    throw UmbraError.invalid(
      field,
      `holds ${out.length} BYTES element(s) but its shape needs ${expectedCount}`,
    );
  }
  return out;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Joins elements (strings as UTF-8) into BYTES raw contents: each a 4-byte LE length, then the bytes. */
export function encodeBytesElements(elements: readonly (Uint8Array | string)[]): Uint8Array {
  const parts = elements.map((e) => (typeof e === "string" ? utf8.encode(e) : e));
  let size = 0;
  for (const p of parts) size += 4 + p.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const p of parts) {
    view.setUint32(pos, p.byteLength, true);
    out.set(p, pos + 4);
    pos += 4 + p.byteLength;
  }
  return out;
}

/**
 * Checks a tensor's name, data type, shape and raw size; returns it. Throws an
 * `invalid_argument` UmbraError naming `field` and the tensor, e.g.
 * `inputs[0] "features": raw contents are 12 bytes, but shape [1,4] of FP32 needs 16`.
 */
export function validateTensor(tensor: Tensor, field = "tensor"): Tensor {
  const where = describe(field, typeof tensor.name === "string" ? tensor.name : "");
  if (typeof tensor.name !== "string" || tensor.name === "") {
    throw UmbraError.invalid(field, "name must be a non-empty string");
  }
  if (!isDatatype(tensor.datatype)) {
    throw UmbraError.invalid(
      where,
      `datatype must be one of ${[...datatypes].join(", ")} (got ${JSON.stringify(tensor.datatype)})`,
    );
  }
  if (!Array.isArray(tensor.shape)) throw UmbraError.invalid(where, "shape must be an array");
  checkShape(tensor.shape, where);
  if (!(tensor.data instanceof Uint8Array)) {
    throw UmbraError.invalid(where, "data must be a Uint8Array of raw contents");
  }
  const count = elementCount(tensor.shape);
  if (tensor.datatype === "BYTES") {
    decodeBytesElements(tensor.data, count, where);
  } else {
    const size = DATATYPE_SIZE_BYTES[tensor.datatype];
    if (tensor.data.byteLength !== count * size) {
      throw UmbraError.invalid(
        where,
        `raw contents are ${tensor.data.byteLength} bytes, but shape [${tensor.shape.join(",")}] of ${tensor.datatype} (${size} byte(s) each) needs ${count * size}`,
      );
    }
  }
  return tensor;
}

type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

const datatypeOfArray = new Map<unknown, Datatype>([
  [Float32Array, "FP32"],
  [Float64Array, "FP64"],
  [Int8Array, "INT8"],
  [Int16Array, "INT16"],
  [Int32Array, "INT32"],
  [BigInt64Array, "INT64"],
  [Uint8Array, "UINT8"],
  [Uint16Array, "UINT16"],
  [Uint32Array, "UINT32"],
  [BigUint64Array, "UINT64"],
]);

function bytesOf(values: NumericArray): Uint8Array {
  assertLittleEndian();
  // A copy, so later writes to the caller's array cannot change what was sent.
  return new Uint8Array(
    values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
  );
}

/**
 * A tensor from a typed array: Float32Array → FP32, Float64Array → FP64, Int8/16/32Array →
 * INT8/16/32, BigInt64Array → INT64, Uint8/16/32Array → UINT8/16/32, BigUint64Array → UINT64.
 * The shape defaults to `[length]`; the contents are copied.
 */
export function typedTensor(name: string, values: NumericArray, shape?: readonly number[]): Tensor {
  // Buffer is a Uint8Array subclass; look it up as one.
  const ctor = values instanceof Uint8Array ? Uint8Array : values.constructor;
  const datatype = datatypeOfArray.get(ctor);
  if (datatype === undefined) {
    throw UmbraError.invalid(`tensor "${name}"`, `values must be a numeric typed array`);
  }
  return validateTensor(
    { name, datatype, shape: shape ?? [values.length], data: bytesOf(values) },
    "tensor",
  );
}

/** An FP32 tensor from numbers (rounded to float32) or a Float32Array; shape defaults to `[length]`. */
export function fp32Tensor(
  name: string,
  values: Float32Array | readonly number[],
  shape?: readonly number[],
): Tensor {
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
  return typedTensor(name, f32, shape);
}

/** An INT64 tensor from bigints, safe-integer numbers or a BigInt64Array; shape defaults to `[length]`. */
export function int64Tensor(
  name: string,
  values: BigInt64Array | readonly (bigint | number)[],
  shape?: readonly number[],
): Tensor {
  if (values instanceof BigInt64Array) return typedTensor(name, values, shape);
  const out = new BigInt64Array(values.length);
  for (const [i, v] of values.entries()) {
    if (typeof v === "number" && !Number.isSafeInteger(v)) {
      throw UmbraError.invalid(`tensor "${name}"`, `values[${i}] must be an integer (got ${v})`);
    }
    out[i] = BigInt(v);
  }
  return typedTensor(name, out, shape);
}

/** A BOOL tensor (one byte per element, 0 or 1); shape defaults to `[length]`. */
export function boolTensor(
  name: string,
  values: readonly boolean[],
  shape?: readonly number[],
): Tensor {
  const data = Uint8Array.from(values, (v) => (v ? 1 : 0));
  return validateTensor(
    { name, datatype: "BOOL", shape: shape ?? [values.length], data },
    "tensor",
  );
}

/** A BYTES tensor from strings (UTF-8) or byte arrays; shape defaults to `[length]`. */
export function bytesTensor(
  name: string,
  elements: readonly (string | Uint8Array)[],
  shape?: readonly number[],
): Tensor {
  return validateTensor(
    {
      name,
      datatype: "BYTES",
      shape: shape ?? [elements.length],
      data: encodeBytesElements(elements),
    },
    "tensor",
  );
}

function expectDatatype(tensor: Tensor, datatype: Datatype, reader: string): void {
  if (tensor.datatype !== datatype) {
    throw UmbraError.invalid(
      `tensor "${tensor.name}"`,
      `${reader} needs datatype ${datatype} (got ${tensor.datatype})`,
    );
  }
}

function aligned(data: Uint8Array, size: number): ArrayBuffer | SharedArrayBuffer {
  if (data.byteOffset % size === 0) return data.buffer;
  // `new Uint8Array(x)` copies; Buffer#slice (the decoder hands out Buffers) would not.
  return new Uint8Array(data).buffer;
}

function alignedOffset(data: Uint8Array, size: number): number {
  return data.byteOffset % size === 0 ? data.byteOffset : 0;
}

/** The values of an FP32 tensor: a view of its contents when aligned, a copy otherwise. */
export function readFloat32(tensor: Tensor): Float32Array {
  expectDatatype(tensor, "FP32", "readFloat32");
  assertLittleEndian();
  return new Float32Array(
    aligned(tensor.data, 4),
    alignedOffset(tensor.data, 4),
    tensor.data.byteLength / 4,
  );
}

/** The values of an INT64 tensor: a view of its contents when aligned, a copy otherwise. */
export function readInt64(tensor: Tensor): BigInt64Array {
  expectDatatype(tensor, "INT64", "readInt64");
  assertLittleEndian();
  return new BigInt64Array(
    aligned(tensor.data, 8),
    alignedOffset(tensor.data, 8),
    tensor.data.byteLength / 8,
  );
}

/** The values of a BOOL tensor; any non-zero byte is `true`. */
export function readBool(tensor: Tensor): boolean[] {
  expectDatatype(tensor, "BOOL", "readBool");
  return Array.from(tensor.data, (b) => b !== 0);
}

/** The elements of a BYTES tensor (views of its contents). */
export function readBytes(tensor: Tensor): Uint8Array[] {
  expectDatatype(tensor, "BYTES", "readBytes");
  return decodeBytesElements(tensor.data, undefined, `tensor "${tensor.name}"`);
}

/** The elements of a BYTES tensor as strings; throws `invalid_argument` on invalid UTF-8. */
export function readStrings(tensor: Tensor): string[] {
  return readBytes(tensor).map((b, i) => {
    try {
      return utf8Strict.decode(b);
    } catch (cause) {
      throw UmbraError.invalid(`tensor "${tensor.name}"`, `element ${i} is not valid UTF-8`, cause);
    }
  });
}

/** Parses a decoded int64 shape dimension (a decimal string or number) as a safe integer. */
function dimension(value: Int64Input, where: string, index: number): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(n)) {
    throw UmbraError.invalid(where, `shape[${index}] must be a safe integer (got ${value})`);
  }
  return n;
}

function rawFromContents(
  datatype: Datatype,
  contents: InferTensorContents,
  count: number,
  where: string,
): Uint8Array {
  const need = (values: readonly unknown[] | undefined, field: string): readonly unknown[] => {
    const v = values ?? [];
    if (v.length !== count) {
      throw UmbraError.invalid(
        where,
        `contents.${field} holds ${v.length} value(s) but the shape needs ${count}`,
      );
    }
    return v;
  };
  const big = (v: unknown, i: number): bigint => {
    try {
      return BigInt(v as string | number);
    } catch (cause) {
      throw UmbraError.invalid(where, `contents value ${i} is not an integer`, cause);
    }
  };
  switch (datatype) {
    case "BOOL":
      return Uint8Array.from(need(contents.bool_contents, "bool_contents"), (v) => (v ? 1 : 0));
    case "INT8":
      return bytesOf(Int8Array.from(need(contents.int_contents, "int_contents") as number[]));
    case "INT16":
      return bytesOf(Int16Array.from(need(contents.int_contents, "int_contents") as number[]));
    case "INT32":
      return bytesOf(Int32Array.from(need(contents.int_contents, "int_contents") as number[]));
    case "INT64":
      return bytesOf(BigInt64Array.from(need(contents.int64_contents, "int64_contents"), big));
    case "UINT8":
      return Uint8Array.from(need(contents.uint_contents, "uint_contents") as number[]);
    case "UINT16":
      return bytesOf(Uint16Array.from(need(contents.uint_contents, "uint_contents") as number[]));
    case "UINT32":
      return bytesOf(Uint32Array.from(need(contents.uint_contents, "uint_contents") as number[]));
    case "UINT64":
      return bytesOf(BigUint64Array.from(need(contents.uint64_contents, "uint64_contents"), big));
    case "FP32":
      return bytesOf(Float32Array.from(need(contents.fp32_contents, "fp32_contents") as number[]));
    case "FP64":
      return bytesOf(Float64Array.from(need(contents.fp64_contents, "fp64_contents") as number[]));
    case "BYTES":
      return encodeBytesElements(need(contents.bytes_contents, "bytes_contents") as Uint8Array[]);
    default:
      throw UmbraError.invalid(where, `${datatype} can only travel as raw contents`);
  }
}

function hasContents(contents: InferTensorContents | null | undefined): boolean {
  if (contents === null || contents === undefined) return false;
  return Object.values(contents).some((v) => Array.isArray(v) && v.length > 0);
}

/**
 * Turns the tensors of a decoded request (`inputs` + `raw_input_contents`) or response
 * (`outputs` + `raw_output_contents`) into validated {@link Tensor}s. Typed `contents` are
 * converted to the raw layout. Errors name `field` with the index and the tensor name.
 */
export function tensorsFromWire(
  wire: readonly (InferInputTensor | InferOutputTensor)[],
  raw: readonly Uint8Array[] | undefined,
  field: "inputs" | "outputs",
): Tensor[] {
  const rawField = field === "inputs" ? "raw_input_contents" : "raw_output_contents";
  const rawCount = raw?.length ?? 0;
  if (rawCount > 0 && rawCount !== wire.length) {
    throw UmbraError.invalid(
      rawField,
      `holds ${rawCount} entries but there are ${wire.length} ${field}; it needs one per tensor`,
    );
  }
  return wire.map((t, i) => {
    const where = describe(`${field}[${i}]`, typeof t.name === "string" ? t.name : "");
    if (!isDatatype(t.datatype)) {
      throw UmbraError.invalid(
        where,
        `datatype must be one of ${[...datatypes].join(", ")} (got ${JSON.stringify(t.datatype)})`,
      );
    }
    const shape = (t.shape ?? []).map((d, j) => dimension(d, where, j));
    checkShape(shape, where);
    let data: Uint8Array;
    if (rawCount > 0) {
      if (hasContents(t.contents)) {
        throw UmbraError.invalid(where, `contents must be empty when ${rawField} is used`);
      }
      data = raw?.[i] ?? new Uint8Array(0);
    } else {
      data = rawFromContents(t.datatype, t.contents ?? {}, elementCount(shape), where);
    }
    const parameters = parametersFromWire(t.parameters, `${where} parameters`);
    const tensor: Tensor = {
      name: t.name,
      datatype: t.datatype,
      shape,
      data,
      ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    };
    return validateTensor(tensor, `${field}[${i}]`);
  });
}

/** Splits tensors into wire tensor descriptions and their raw contents, in the same order. */
export function tensorsToWire(tensors: readonly Tensor[]): {
  tensors: InferInputTensor[];
  raw: Uint8Array[];
} {
  const out: InferInputTensor[] = [];
  const raw: Uint8Array[] = [];
  for (const t of tensors) {
    const wire: InferInputTensor = { name: t.name, datatype: t.datatype, shape: [...t.shape] };
    if (t.parameters !== undefined) {
      wire.parameters = parametersToWire(t.parameters, `tensor "${t.name}" parameters`);
    }
    out.push(wire);
    raw.push(t.data);
  }
  return { tensors: out, raw };
}
