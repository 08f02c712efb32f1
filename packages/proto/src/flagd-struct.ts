import { UmbraError } from "@umbra/protocol";
import type { ProtoStruct, ProtoValue } from "./messages.ts";

/** A JSON value, as `google.protobuf.Struct` can carry it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

function toValue(value: unknown, path: string): ProtoValue {
  if (value === null) return { nullValue: 0 };
  switch (typeof value) {
    case "boolean":
      return { boolValue: value };
    case "number":
      if (!Number.isFinite(value))
        throw UmbraError.invalid(path, `must be a finite number (got ${value})`);
      return { numberValue: value };
    case "string":
      return { stringValue: value };
    case "object":
      if (Array.isArray(value)) {
        return { listValue: { values: value.map((v, i) => toValue(v, `${path}/${i}`)) } };
      }
      return { structValue: structFromJson(value as Record<string, unknown>, path) };
    default:
      throw UmbraError.invalid(path, `must be JSON (got ${typeof value})`);
  }
}

/**
 * A `google.protobuf.Struct` for a JSON object, in the loader's camelCase form — e.g. the
 * `sync_context` of a flagd `SyncFlagsResponse`. Throws `invalid_argument` naming the path of a
 * value JSON cannot hold.
 */
export function structFromJson(object: Readonly<Record<string, unknown>>, path = ""): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    fields[key] = toValue(value, `${path}/${key}`);
  }
  return { fields };
}

function fromValue(value: ProtoValue): JsonValue {
  switch (value.kind) {
    case "boolValue":
      return value.boolValue ?? false;
    case "numberValue":
      return value.numberValue ?? 0;
    case "stringValue":
      return value.stringValue ?? "";
    case "structValue":
      return value.structValue === undefined ? {} : jsonFromStruct(value.structValue);
    case "listValue":
      return (value.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}

/** The JSON object a decoded `google.protobuf.Struct` holds. */
export function jsonFromStruct(struct: ProtoStruct): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) out[key] = fromValue(value);
  return out;
}
