/** An array or a typed array (not a DataView): anything compared element by element. */
export type ArrayLikeValue = ArrayLike<unknown>;

/** Whether `v` is an array or a numeric typed array. */
export function isArrayLike(v: unknown): v is ArrayLikeValue {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/** Whether `v` is a plain record (not null, not an array, typed array or Date). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !isArrayLike(v) && !(v instanceof Date);
}

/** Strict equality, except that NaN equals NaN (both sides produced the same thing). */
export function sameLeaf(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return false;
}
