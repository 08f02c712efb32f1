import { UmbraError } from "@umbra/protocol";

/**
 * The codes a {@link CollectorError} can carry. Callers branch on `code`; the HTTP status of
 * each code is decided in one place, `http/error-status.ts`.
 */
export const CollectorErrorCode = {
  /** A request, a configuration value or a spec broke a rule; the message names the field and the rule. */
  InvalidArgument: "invalid_argument",
  /** The experiment, variant or route does not exist. */
  NotFound: "not_found",
  /** The HTTP method is not served on this route. */
  MethodNotAllowed: "method_not_allowed",
  /** A request body is larger than the collector accepts. */
  PayloadTooLarge: "payload_too_large",
  /** A compare-and-swap lost: another replica (or a newer spec) changed the state first. */
  Conflict: "conflict",
  /** A mutating request came without `Authorization: Bearer <token>`. */
  Unauthenticated: "unauthenticated",
  /** A mutating request came with the wrong token, or the collector is read-only (no token configured). */
  PermissionDenied: "permission_denied",
  /** NATS, JetStream or a KV bucket did not answer, or the collector is not started. */
  Unavailable: "unavailable",
  /** A deadline passed before the work finished. */
  DeadlineExceeded: "deadline_exceeded",
  /** The collector (or the part asked) is closing or closed. */
  Cancelled: "cancelled",
  /** A bug or an unexpected failure; the cause says more. */
  Internal: "internal",
} as const;

/** One of the {@link CollectorErrorCode} values. */
export type CollectorErrorCode = (typeof CollectorErrorCode)[keyof typeof CollectorErrorCode];

const codes = new Set<string>(Object.values(CollectorErrorCode));

/**
 * The error type of the collector: a stable `code`, a message naming the field and the rule for
 * bad input, and the underlying `cause`.
 *
 * @example
 * ```ts
 * throw CollectorError.invalid("query.variant", "must be a subject token");
 * ```
 */
export class CollectorError extends Error {
  override readonly name = "CollectorError";
  /** What kind of failure this is; see {@link CollectorErrorCode}. */
  readonly code: CollectorErrorCode;
  /** For input errors: the field that broke a rule (`query.variant`, `body/criteria/alpha`, `UMBRA_NATS_URL`). */
  readonly field: string | undefined;

  constructor(
    code: CollectorErrorCode,
    message: string,
    options?: { readonly cause?: unknown; readonly field?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options?.field;
  }

  /** An input error naming the field and the rule it broke: `"<field>: <rule>"`. */
  static invalid(field: string, rule: string, cause?: unknown): CollectorError {
    return new CollectorError(CollectorErrorCode.InvalidArgument, `${field}: ${rule}`, {
      field,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /**
   * Wraps anything thrown into a CollectorError: keeps a CollectorError, carries over the code
   * and field of an {@link UmbraError} (whose codes are a superset), and calls the rest `internal`.
   */
  static from(reason: unknown): CollectorError {
    if (reason instanceof CollectorError) return reason;
    if (reason instanceof UmbraError) {
      const code = codes.has(reason.code)
        ? (reason.code as CollectorErrorCode)
        : reason.code === "resource_exhausted"
          ? CollectorErrorCode.Unavailable
          : reason.code === "unsupported_version"
            ? CollectorErrorCode.InvalidArgument
            : CollectorErrorCode.Internal;
      return new CollectorError(code, reason.message, {
        cause: reason,
        ...(reason.field === undefined ? {} : { field: reason.field }),
      });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new CollectorError(CollectorErrorCode.Internal, message, { cause: reason });
  }
}
