import type { TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { Packr } from "msgpackr";
import { UmbraError, UmbraErrorCode } from "./errors.ts";
import {
  type DecisionRecord,
  type ExposureRecord,
  type LabelRecord,
  type PairRecord,
  type RecordKind,
  type RecordOf,
  RecordSchemas,
  SCHEMA_VERSION,
  ShadowOutcome,
} from "./records.ts";

// Standard msgpack maps that any language reads. Records/structures are msgpackr-only extensions.
// `undefined` would otherwise become a msgpackr-only extension; object keys holding undefined are
// dropped by toWire, and a stray undefined elsewhere (an array item) travels as nil.
const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true });

/**
 * Element types a typed array can travel as. On the wire a typed array is the map
 * `{ "$dtype": <dtype>, "$bytes": <bin, little-endian> }`, because msgpackr silently corrupts
 * typed arrays other than Uint8Array (it writes them element-wise into a byte-sized slot).
 */
export const Dtype = {
  f32: Float32Array,
  f64: Float64Array,
  i8: Int8Array,
  i16: Int16Array,
  i32: Int32Array,
  i64: BigInt64Array,
  u16: Uint16Array,
  u32: Uint32Array,
  u64: BigUint64Array,
} as const;
/** A typed-array element type name; see {@link Dtype}. */
export type Dtype = keyof typeof Dtype;

const dtypeOf = new Map<unknown, Dtype>(Object.entries(Dtype).map(([k, v]) => [v, k as Dtype]));
const ctorOf = new Map<unknown, (typeof Dtype)[Dtype]>(Object.entries(Dtype));
const MAX_DEPTH = 32;

/** Replaces every typed array (other than Uint8Array) under `value` by its `$dtype`/`$bytes` map. */
function toWire(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH)
    throw UmbraError.invalid("(record)", `nests deeper than ${MAX_DEPTH} levels`);
  if (ArrayBuffer.isView(value)) {
    if (value instanceof Uint8Array) return value;
    const dtype = dtypeOf.get(value.constructor);
    if (dtype === undefined) {
      throw UmbraError.invalid(
        "(record)",
        `typed array ${value.constructor.name} has no dtype; use one of ${Object.keys(Dtype).join(", ")}`,
      );
    }
    return {
      $dtype: dtype,
      $bytes: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    };
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const w = toWire(v, depth + 1);
      if (w !== v) {
        out ??= value.slice();
        out[i] = w;
      }
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) {
      out ??= { ...(value as Record<string, unknown>) };
      delete out[key];
      continue;
    }
    const w = toWire(v, depth + 1);
    if (w !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      out[key] = w;
    }
  }
  return out ?? value;
}

/** Restores typed arrays from `$dtype`/`$bytes` maps in place; returns the restored value. */
function fromWire(value: unknown, path: string, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) throw UmbraError.invalid(path, `nests deeper than ${MAX_DEPTH} levels`);
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromWire(value[i], `${path}/${i}`, depth + 1);
    return value;
  }
  const obj = value as Record<string, unknown>;
  if ("$dtype" in obj) {
    const { $dtype, $bytes } = obj;
    const Ctor = ctorOf.get($dtype);
    if (Ctor === undefined) {
      throw UmbraError.invalid(`${path}/$dtype`, `must be one of ${Object.keys(Dtype).join(", ")}`);
    }
    if (!($bytes instanceof Uint8Array))
      throw UmbraError.invalid(`${path}/$bytes`, "must be msgpack bin");
    if ($bytes.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) {
      throw UmbraError.invalid(
        `${path}/$bytes`,
        `length ${$bytes.byteLength} is not a multiple of ${Ctor.BYTES_PER_ELEMENT} (${$dtype})`,
      );
    }
    // Copy into a fresh, aligned buffer: the decoded bin is a view at an arbitrary offset of the
    // message, and Buffer#slice would return another view rather than a copy.
    const copy = new Uint8Array($bytes.byteLength);
    copy.set($bytes);
    return new Ctor(copy.buffer, 0, copy.byteLength / Ctor.BYTES_PER_ELEMENT);
  }
  for (const key in obj) obj[key] = fromWire(obj[key], `${path}/${key}`, depth + 1);
  return obj;
}

const checks = new Map<RecordKind, TypeCheck<TSchema>>();
function checkerFor(kind: RecordKind): TypeCheck<TSchema> {
  let c = checks.get(kind);
  if (c === undefined) {
    c = TypeCompiler.Compile(RecordSchemas[kind]);
    checks.set(kind, c);
  }
  return c;
}

/**
 * Checks that `value` is a valid record of `kind`: the schema version, every field's schema,
 * then the rules between fields. Throws an {@link UmbraError} naming the first offending field.
 */
export function validateRecord<K extends RecordKind>(kind: K, value: unknown): RecordOf<K> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw UmbraError.invalid("(record)", "must be a msgpack map");
  }
  const v = value as Record<string, unknown>;
  if (v.schema !== SCHEMA_VERSION) {
    if (typeof v.schema === "number" && Number.isInteger(v.schema) && v.schema > SCHEMA_VERSION) {
      throw new UmbraError(
        UmbraErrorCode.UnsupportedVersion,
        `/schema: version ${v.schema} is newer than ${SCHEMA_VERSION}, the newest this build reads`,
        { field: "/schema" },
      );
    }
    throw UmbraError.invalid(
      "/schema",
      `must be ${SCHEMA_VERSION} (got ${JSON.stringify(v.schema)})`,
    );
  }
  if (v.kind !== kind)
    throw UmbraError.invalid("/kind", `must be "${kind}" (got ${JSON.stringify(v.kind)})`);
  const checker = checkerFor(kind);
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    const path = first?.path || "(record)";
    throw UmbraError.invalid(path, first?.message.toLowerCase() ?? "does not match the schema");
  }
  if (kind === "pair") checkPairRules(value as PairRecord);
  if (kind === "exposure") checkExposureRules(value as ExposureRecord);
  return value as RecordOf<K>;
}

function checkPairRules(r: PairRecord): void {
  const s = r.shadow;
  if (r.variant === r.liveVariant)
    throw UmbraError.invalid(
      "/variant",
      "must differ from liveVariant (a variant is never its own shadow)",
    );
  if (r.input.capture === "full" && !("value" in r.input))
    throw UmbraError.invalid("/input/value", "is required when capture is full");
  if (r.input.capture === "sha256" && r.input.sha256 === undefined)
    throw UmbraError.invalid("/input/sha256", "is required when capture is sha256");
  if (r.input.capture !== "full" && "value" in r.input)
    throw UmbraError.invalid("/input/value", `must be absent when capture is ${r.input.capture}`);
  switch (s.outcome) {
    case ShadowOutcome.ok:
      if (s.latencyMs === undefined)
        throw UmbraError.invalid("/shadow/latencyMs", "is required when outcome is ok");
      if (s.error !== undefined)
        throw UmbraError.invalid("/shadow/error", "must be absent when outcome is ok");
      break;
    case ShadowOutcome.error:
      if (s.error === undefined)
        throw UmbraError.invalid("/shadow/error", "is required when outcome is error");
      break;
    case ShadowOutcome.dropped:
      if (s.dropReason === undefined)
        throw UmbraError.invalid("/shadow/dropReason", "is required when outcome is dropped");
      break;
    default:
      break;
  }
  if (s.outcome !== ShadowOutcome.ok && s.output !== undefined) {
    throw UmbraError.invalid("/shadow/output", `must be absent when outcome is ${s.outcome}`);
  }
}

function checkExposureRules(r: ExposureRecord): void {
  if (r.windowEndMs < r.windowStartMs)
    throw UmbraError.invalid("/windowEndMs", "must not be before windowStartMs");
  r.entries.forEach((e, i) => {
    for (const [variant, m] of Object.entries(e.mirrors)) {
      const dropped = Object.values(m.dropped).reduce((a, b) => a + b, 0);
      if (m.dispatched + dropped > m.planned) {
        throw UmbraError.invalid(
          `/entries/${i}/mirrors/${variant}`,
          "dispatched + dropped must not exceed planned",
        );
      }
    }
  });
}

/** Encodes a record of `kind` as standard msgpack, after validating it. */
export function encodeRecord<K extends RecordKind>(kind: K, record: RecordOf<K>): Uint8Array {
  const wire = toWire(record, 0);
  validateRecord(kind, wire);
  return packr.pack(wire);
}

/** Decodes and validates msgpack bytes as a record of `kind`; throws an {@link UmbraError} naming the field. */
export function decodeRecord<K extends RecordKind>(kind: K, bytes: Uint8Array): RecordOf<K> {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (cause) {
    throw UmbraError.invalid(
      "(message)",
      `is not valid msgpack (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    );
  }
  return validateRecord(kind, fromWire(raw, "", 0));
}

/** Encodes a {@link PairRecord}. */
export const encodePair = (r: PairRecord): Uint8Array => encodeRecord("pair", r);
/** Decodes a {@link PairRecord}. */
export const decodePair = (b: Uint8Array): PairRecord => decodeRecord("pair", b);
/** Encodes an {@link ExposureRecord}. */
export const encodeExposure = (r: ExposureRecord): Uint8Array => encodeRecord("exposure", r);
/** Decodes an {@link ExposureRecord}. */
export const decodeExposure = (b: Uint8Array): ExposureRecord => decodeRecord("exposure", b);
/** Encodes a {@link LabelRecord}. */
export const encodeLabel = (r: LabelRecord): Uint8Array => encodeRecord("label", r);
/** Decodes a {@link LabelRecord}. */
export const decodeLabel = (b: Uint8Array): LabelRecord => decodeRecord("label", b);
/** Encodes a {@link DecisionRecord}. */
export const encodeDecision = (r: DecisionRecord): Uint8Array => encodeRecord("decision", r);
/** Decodes a {@link DecisionRecord}. */
export const decodeDecision = (b: Uint8Array): DecisionRecord => decodeRecord("decision", b);

/**
 * Encodes any JSON-like value (with typed arrays) as standard msgpack, e.g. a model input that
 * travels as one BYTES tensor. Typed arrays use the same `$dtype`/`$bytes` form as records.
 */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(toWire(value, 0));
}

/** Decodes bytes written by {@link encodeValue}; throws an `invalid_argument` UmbraError on bad input. */
export function decodeValue(bytes: Uint8Array, field = "(value)"): unknown {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (cause) {
    throw UmbraError.invalid(
      field,
      `is not valid msgpack (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    );
  }
  return fromWire(raw, field === "(value)" ? "" : field, 0);
}
