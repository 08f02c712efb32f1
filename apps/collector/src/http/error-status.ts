import { CollectorError, type CollectorErrorCode } from "../collector-error.ts";

/** The HTTP status of each {@link CollectorErrorCode}: the only place this mapping lives. */
export const HTTP_STATUS: Readonly<Record<CollectorErrorCode, number>> = {
  invalid_argument: 400,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  conflict: 409,
  unauthenticated: 401,
  permission_denied: 403,
  unavailable: 503,
  deadline_exceeded: 504,
  cancelled: 503,
  internal: 500,
};

/** The JSON body of an error response. */
export interface ErrorBody {
  readonly error: {
    readonly code: CollectorErrorCode;
    readonly message: string;
    readonly field?: string;
  };
}

/** Maps anything thrown by a handler to its HTTP status and JSON body. */
export function errorResponse(reason: unknown): { status: number; body: ErrorBody } {
  const error = CollectorError.from(reason);
  return {
    status: HTTP_STATUS[error.code],
    body: {
      error: {
        code: error.code,
        message: error.message,
        ...(error.field === undefined ? {} : { field: error.field }),
      },
    },
  };
}
