// The one place where gRPC status codes and UmbraError codes meet, in both directions: clients
// turn a failed call into an UmbraError, servers turn an UmbraError into a status.
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { UmbraError, type UmbraErrorCode } from "@umbra/protocol";

const fromStatus: Record<number, UmbraErrorCode> = {
  [GrpcStatus.CANCELLED]: "cancelled",
  [GrpcStatus.UNKNOWN]: "internal",
  [GrpcStatus.INVALID_ARGUMENT]: "invalid_argument",
  [GrpcStatus.DEADLINE_EXCEEDED]: "deadline_exceeded",
  [GrpcStatus.NOT_FOUND]: "not_found",
  [GrpcStatus.ALREADY_EXISTS]: "conflict",
  [GrpcStatus.PERMISSION_DENIED]: "internal",
  [GrpcStatus.RESOURCE_EXHAUSTED]: "resource_exhausted",
  [GrpcStatus.FAILED_PRECONDITION]: "internal",
  [GrpcStatus.ABORTED]: "conflict",
  [GrpcStatus.OUT_OF_RANGE]: "invalid_argument",
  // A server without the method (e.g. Triton asked for umbra.v1.Mirror): what was asked for
  // does not exist there.
  [GrpcStatus.UNIMPLEMENTED]: "not_found",
  [GrpcStatus.INTERNAL]: "internal",
  [GrpcStatus.UNAVAILABLE]: "unavailable",
  [GrpcStatus.DATA_LOSS]: "internal",
  [GrpcStatus.UNAUTHENTICATED]: "internal",
};

const toStatus: Record<UmbraErrorCode, GrpcStatus> = {
  invalid_argument: GrpcStatus.INVALID_ARGUMENT,
  unsupported_version: GrpcStatus.INVALID_ARGUMENT,
  not_found: GrpcStatus.NOT_FOUND,
  unavailable: GrpcStatus.UNAVAILABLE,
  deadline_exceeded: GrpcStatus.DEADLINE_EXCEEDED,
  resource_exhausted: GrpcStatus.RESOURCE_EXHAUSTED,
  conflict: GrpcStatus.ABORTED,
  cancelled: GrpcStatus.CANCELLED,
  internal: GrpcStatus.INTERNAL,
};

const statusNames = new Map<number, string>(
  Object.entries(GrpcStatus)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v as number, k]),
);

/** The name of a gRPC status code, e.g. `DEADLINE_EXCEEDED` for 4. */
export function grpcStatusName(code: number): string {
  return statusNames.get(code) ?? `STATUS_${code}`;
}

/** The UmbraError code a gRPC status code maps to; unknown codes map to `internal`. */
export function umbraCodeOfGrpcStatus(code: number): UmbraErrorCode {
  return fromStatus[code] ?? "internal";
}

/** The gRPC status code an UmbraError code maps to. */
export function grpcStatusOfUmbraCode(code: UmbraErrorCode): GrpcStatus {
  return toStatus[code] ?? GrpcStatus.INTERNAL;
}

/** Whether `error` looks like a grpc-js `ServiceError` (an Error with a numeric `code`). */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "number";
}

/**
 * An UmbraError for a failed gRPC call: the code mapped from the status, the message prefixed
 * with what was called and the status name, and the `ServiceError` as `cause`. An UmbraError is
 * returned as it is; anything else becomes `internal`.
 */
export function umbraErrorFromGrpc(error: unknown, what: string): UmbraError {
  if (error instanceof UmbraError) return error;
  if (isServiceError(error)) {
    const details = error.details || error.message;
    return new UmbraError(
      umbraCodeOfGrpcStatus(error.code),
      `${what}: ${grpcStatusName(error.code)}: ${details}`,
      { cause: error },
    );
  }
  const e = UmbraError.from(error);
  return new UmbraError(e.code, `${what}: ${e.message}`, { cause: error });
}

/**
 * A status object for grpc-js server callbacks (`callback(grpcErrorFromUmbra(e))`, or
 * `call.emit("error", …)`): the code mapped from the UmbraError code, its message as details.
 */
export function grpcErrorFromUmbra(error: unknown): { code: GrpcStatus; details: string } {
  const e = UmbraError.from(error);
  return { code: grpcStatusOfUmbraCode(e.code), details: e.message };
}
