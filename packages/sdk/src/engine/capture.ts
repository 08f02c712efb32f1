import { createHash } from "node:crypto";
import { decodeValue, type PairRecord } from "@umbra/protocol";
import type { EncodedInput } from "./types.ts";

/** How much of each mirrored request's input goes on its pair records. */
export interface CaptureOptions {
  /** `full`: the input after redaction; `hash`: its sha256; `none`: nothing. Default `hash`. */
  readonly mode: "full" | "hash" | "none";
  /** JSON-pointer-like paths removed before a full capture, `*` matching any key or index. */
  readonly redact?: readonly string[] | undefined;
}

/** Builds the `input` field of the pair records of one request. */
export function captureInput(input: EncodedInput, options: CaptureOptions): PairRecord["input"] {
  if (options.mode === "none") return { capture: "none" };
  if (options.mode === "hash")
    return { capture: "sha256", sha256: createHash("sha256").update(input.bytes).digest("hex") };
  const value =
    input.kind === "f32"
      ? new Float32Array(input.bytes.slice().buffer, 0, input.bytes.byteLength / 4)
      : decodeValue(input.bytes, "/input/value");
  for (const path of options.redact ?? [])
    redact(
      value,
      path.split("/").filter((s) => s !== ""),
    );
  return { capture: "full", value };
}

function redact(value: unknown, path: readonly string[]): void {
  if (value === null || typeof value !== "object" || path.length === 0) return;
  const [head, ...rest] = path as [string, ...string[]];
  const container = value as Record<string, unknown>;
  const keys = head === "*" ? Object.keys(container) : Object.hasOwn(container, head) ? [head] : [];
  for (const key of keys) {
    if (rest.length === 0) {
      if (Array.isArray(container)) container[Number(key)] = null;
      else delete container[key];
    } else {
      redact(container[key], rest);
    }
  }
}
