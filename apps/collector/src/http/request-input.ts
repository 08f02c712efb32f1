import type { IncomingMessage } from "node:http";
import { isSubjectToken } from "@umbra/protocol";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";

/** The most a request body may hold (a spec is a few KiB). */
export const MAX_BODY_BYTES = 1_048_576;

/**
 * The query of a request, validated: only `allowed` parameters, each at most once. Errors name
 * the parameter as `query.<name>`.
 */
export function readQuery(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name)) {
      throw CollectorError.invalid(
        `query.${name}`,
        allowed.length === 0
          ? "is not a parameter of this route (it takes none)"
          : `is not a parameter of this route (allowed: ${allowed.join(", ")})`,
      );
    }
    if (out.has(name)) throw CollectorError.invalid(`query.${name}`, "must be given at most once");
    out.set(name, value);
  }
  return out;
}

/** A subject-token parameter (experiment, variant), validated; `undefined` when absent. */
export function tokenParam(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isSubjectToken(value)) {
    throw CollectorError.invalid(
      field,
      `must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-' (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/** An integer parameter within `[min, max]`, validated; `fallback` when absent. */
export function intParam(
  field: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw CollectorError.invalid(
      field,
      `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}

/** A boolean parameter (`true` / `false`), validated; `fallback` when absent. */
export function boolParam(field: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw CollectorError.invalid(field, `must be true or false (got ${JSON.stringify(value)})`);
}

/**
 * A segment selector `attribute:value` (e.g. `device:mobile`), validated; `undefined` when absent.
 */
export function segmentParam(
  field: string,
  value: string | undefined,
): { readonly attribute: string; readonly value: string } | undefined {
  if (value === undefined) return undefined;
  const at = value.indexOf(":");
  const attribute = at < 0 ? "" : value.slice(0, at);
  const v = at < 0 ? "" : value.slice(at + 1);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(attribute) || v.length === 0 || v.length > 128) {
    throw CollectorError.invalid(
      field,
      `must be attribute:value, e.g. device:mobile (got ${JSON.stringify(value)})`,
    );
  }
  return { attribute, value: v };
}

/**
 * Reads a JSON request body of at most {@link MAX_BODY_BYTES}; errors name `body`. With
 * `allowEmpty`, a request without a body (no content type, nothing sent) reads as `{}`.
 */
export async function readJsonBody(
  req: IncomingMessage,
  options: { readonly allowEmpty?: boolean } = {},
): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  const declaredLength = req.headers["content-length"];
  if (
    options.allowEmpty === true &&
    type === "" &&
    (declaredLength === undefined || declaredLength === "0") &&
    req.headers["transfer-encoding"] === undefined
  ) {
    return {};
  }
  if (!/^application\/json\b/i.test(type)) {
    throw CollectorError.invalid(
      "header.content-type",
      `must be application/json (got ${JSON.stringify(type)})`,
    );
  }
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (cause) {
    throw CollectorError.invalid("body", "must be valid JSON", cause);
  }
}

function tooLarge(): CollectorError {
  return new CollectorError(
    CollectorErrorCode.PayloadTooLarge,
    `body: must be at most ${MAX_BODY_BYTES} bytes`,
    { field: "body" },
  );
}
