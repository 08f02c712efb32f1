import { UmbraError } from "@umbra/protocol";

const KEY = /^[0-9a-z_.-]+$/;
const VALUE = /^[ -~]*$/;

/**
 * Checks gRPC metadata entries: lower-case keys of `0-9 a-z _ . -` (not `-bin`, not reserved
 * `grpc-` ones) and printable ASCII values. Throws an `invalid_argument` UmbraError naming the key.
 */
export function checkHeaders(
  headers: Readonly<Record<string, string>>,
  field: string,
): Readonly<Record<string, string>> {
  for (const [key, value] of Object.entries(headers)) {
    if (!KEY.test(key) || key.endsWith("-bin") || key.startsWith("grpc-")) {
      throw UmbraError.invalid(
        `${field}.${key}`,
        "key must be lower-case 0-9, a-z, '_', '.', '-', not end in -bin and not start with grpc-",
      );
    }
    if (typeof value !== "string" || !VALUE.test(value)) {
      throw UmbraError.invalid(`${field}.${key}`, "value must be a string of printable ASCII");
    }
  }
  return headers;
}
