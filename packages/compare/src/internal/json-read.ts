import { UmbraError } from "@umbra/protocol";

// Snapshots come back from a KV bucket written by another process (maybe another version), so
// every field is checked once on the way in and a bad one is named by its JSON pointer.

/** Reads `value` as a plain object or throws naming `path`. */
export function readObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw UmbraError.invalid(path || "/", "must be an object");
  }
  return value as Record<string, unknown>;
}

/** Reads `value` as an array or throws naming `path`. */
export function readArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw UmbraError.invalid(path || "/", "must be an array");
  return value;
}

/** Reads a finite number, optionally bounded and integral. */
export function readNumber(
  value: unknown,
  path: string,
  rule: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw UmbraError.invalid(path, "must be a finite number");
  }
  if (rule.integer === true && !Number.isInteger(value)) {
    throw UmbraError.invalid(path, "must be an integer");
  }
  if (rule.min !== undefined && value < rule.min) {
    throw UmbraError.invalid(path, `must be >= ${rule.min}`);
  }
  if (rule.max !== undefined && value > rule.max) {
    throw UmbraError.invalid(path, `must be <= ${rule.max}`);
  }
  return value;
}

/** Reads a non-negative count (a finite integer >= 0). */
export function readCount(value: unknown, path: string): number {
  return readNumber(value, path, { min: 0, integer: true });
}

/** Reads a finite number or null. */
export function readNumberOrNull(value: unknown, path: string): number | null {
  return value === null ? null : readNumber(value, path);
}

/** Reads a string, optionally bounded in length. */
export function readString(value: unknown, path: string, maxLength = 1024): string {
  if (typeof value !== "string") throw UmbraError.invalid(path, "must be a string");
  if (value.length > maxLength) {
    throw UmbraError.invalid(path, `must be at most ${maxLength} characters`);
  }
  return value;
}

/** Reads a boolean. */
export function readBoolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw UmbraError.invalid(path, "must be a boolean");
  return value;
}

/** Escapes one JSON-pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointerSegment(key: string | number): string {
  const s = String(key);
  return s.includes("~") || s.includes("/") ? s.replaceAll("~", "~0").replaceAll("/", "~1") : s;
}
