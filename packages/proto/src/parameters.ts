import { UmbraError } from "@umbra/protocol";
import type { InferParameter } from "./messages.ts";

/**
 * An OIP parameter value. Only bool, int64 and string are portable across servers, so a
 * `number` must be a safe integer (sent as int64); larger int64 values travel as `bigint`.
 * Decoded int64 values are numbers when safe and bigints otherwise — never rounded.
 */
export type ParameterValue = string | boolean | number | bigint;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Converts parameter values to `InferParameter` messages. Throws an `invalid_argument`
 * UmbraError naming `field` and the key for a value that is not a string, boolean or int64.
 */
export function parametersToWire(
  parameters: Readonly<Record<string, ParameterValue>>,
  field = "parameters",
): Record<string, InferParameter> {
  const out: Record<string, InferParameter> = {};
  for (const [key, value] of Object.entries(parameters)) {
    switch (typeof value) {
      case "string":
        out[key] = { string_param: value };
        break;
      case "boolean":
        out[key] = { bool_param: value };
        break;
      case "number":
        if (!Number.isSafeInteger(value)) {
          throw UmbraError.invalid(
            `${field}.${key}`,
            `must be a string, a boolean or a safe integer; doubles are not portable across OIP servers (got ${value})`,
          );
        }
        out[key] = { int64_param: value };
        break;
      case "bigint":
        if (value < INT64_MIN || value > INT64_MAX) {
          throw UmbraError.invalid(`${field}.${key}`, `must fit in int64 (got ${value})`);
        }
        out[key] = { int64_param: value.toString() };
        break;
      default:
        throw UmbraError.invalid(
          `${field}.${key}`,
          `must be a string, a boolean or an integer (got ${typeof value})`,
        );
    }
  }
  return out;
}

/**
 * Reads decoded `InferParameter` messages. A parameter with no member set (e.g. a peer's
 * `double_param`, which this proto reserves) is skipped.
 */
export function parametersFromWire(
  parameters: Readonly<Record<string, InferParameter>> | null | undefined,
  field = "parameters",
): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  if (parameters === null || parameters === undefined) return out;
  for (const [key, p] of Object.entries(parameters)) {
    switch (p.parameter_choice) {
      case "string_param":
        out[key] = p.string_param ?? "";
        break;
      case "bool_param":
        out[key] = p.bool_param ?? false;
        break;
      case "int64_param": {
        const raw = p.int64_param ?? 0;
        out[key] = int64Value(raw, `${field}.${key}`);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

function int64Value(raw: number | string, field: string): number | bigint {
  if (typeof raw === "number") return raw;
  const n = Number(raw);
  if (Number.isSafeInteger(n)) return n;
  try {
    return BigInt(raw);
  } catch (cause) {
    throw UmbraError.invalid(field, `int64 must be a decimal integer (got ${raw})`, cause);
  }
}

/**
 * A non-negative count parameter as a number; `undefined` when absent, negative or not an
 * integer. An int64 beyond 2^53 saturates at `Number.MAX_SAFE_INTEGER`.
 */
export function countParameter(
  parameters: Readonly<Record<string, ParameterValue>>,
  key: string,
): number | undefined {
  const v = parameters[key];
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === "bigint" && v >= 0n) return Number.MAX_SAFE_INTEGER;
  return undefined;
}
