/**
 * The codes an {@link UmbraError} can carry. Callers branch on `code`, never on `message`.
 */
export const UmbraErrorCode = {
  /** External input broke a rule; the message names the field and the rule. */
  InvalidArgument: "invalid_argument",
  /** A record or message carries a schema version this build does not read. */
  UnsupportedVersion: "unsupported_version",
  /** Something named (model, experiment, flag, variant) does not exist. */
  NotFound: "not_found",
  /** A dependency (server, stream, provider) is not ready or not reachable. */
  Unavailable: "unavailable",
  /** A deadline passed before the work finished. */
  DeadlineExceeded: "deadline_exceeded",
  /** A bounded resource (queue, buffer, in-flight cap) is full. */
  ResourceExhausted: "resource_exhausted",
  /** A compare-and-swap lost: the state changed since it was read. */
  Conflict: "conflict",
  /** The operation was cancelled or the resource is closed. */
  Cancelled: "cancelled",
  /** A bug or an unexpected failure; the cause says more. */
  Internal: "internal",
} as const;

/** One of the {@link UmbraErrorCode} values. */
export type UmbraErrorCode = (typeof UmbraErrorCode)[keyof typeof UmbraErrorCode];

const codes = new Set<string>(Object.values(UmbraErrorCode));

/**
 * The error type of every Umbra package: a stable `code`, a message that names the field and
 * the rule for bad input, and the underlying `cause` when there is one.
 *
 * @example
 * ```ts
 * try { decodePair(bytes); } catch (e) {
 *   const err = UmbraError.from(e);
 *   if (err.code === "invalid_argument") deadLetter(bytes, err.message);
 * }
 * ```
 */
export class UmbraError extends Error {
  override readonly name = "UmbraError";
  /** What kind of failure this is; see {@link UmbraErrorCode}. */
  readonly code: UmbraErrorCode;
  /** For input errors: the path of the offending field, e.g. `/shadow/latencyMs`. */
  readonly field: string | undefined;
  /** For input errors: the rule the field broke, without the field name. */
  readonly rule: string | undefined;

  constructor(
    code: UmbraErrorCode,
    message: string,
    options?: { cause?: unknown; field?: string; rule?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options?.field;
    this.rule = options?.rule;
  }

  /** Wraps anything thrown into an UmbraError, keeping an UmbraError as it is. */
  static from(reason: unknown): UmbraError {
    if (reason instanceof UmbraError) return reason;
    if (isErrorLike(reason) && typeof reason.code === "string" && codes.has(reason.code)) {
      return new UmbraError(reason.code as UmbraErrorCode, reason.message, { cause: reason });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new UmbraError(UmbraErrorCode.Internal, message, { cause: reason });
  }

  /** An input error naming the field and the rule it broke. */
  static invalid(field: string, rule: string, cause?: unknown): UmbraError {
    return new UmbraError(UmbraErrorCode.InvalidArgument, `${field}: ${rule}`, {
      field,
      rule,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

function isErrorLike(v: unknown): v is { code?: unknown; message: string } {
  return (
    typeof v === "object" && v !== null && typeof (v as { message?: unknown }).message === "string"
  );
}
