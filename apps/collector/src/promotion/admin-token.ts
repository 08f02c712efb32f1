import { createHash, timingSafeEqual } from "node:crypto";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";

const FIELD = "header.authorization";

function digest(value: string): Buffer {
  // Equal-length digests, so the comparison's time says nothing about the token's length either.
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Checks the `Authorization` header of a mutating request against the admin token, in constant
 * time. Throws `permission_denied` when no token is configured (the collector is read-only) or
 * the token is wrong, and `unauthenticated` when the header is missing or not `Bearer <token>`.
 */
export function checkBearer(header: string | undefined, token: string | null): void {
  if (token === null) {
    throw new CollectorError(
      CollectorErrorCode.PermissionDenied,
      `${FIELD}: this collector is read-only: no UMBRA_ADMIN_TOKEN is configured, so mutating endpoints are off`,
      { field: FIELD },
    );
  }
  if (header === undefined || header.trim() === "") {
    throw new CollectorError(
      CollectorErrorCode.Unauthenticated,
      `${FIELD}: required: Authorization: Bearer <admin token>`,
      { field: FIELD },
    );
  }
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (match === null) {
    throw new CollectorError(
      CollectorErrorCode.Unauthenticated,
      `${FIELD}: must be Bearer <admin token>`,
      { field: FIELD },
    );
  }
  if (!timingSafeEqual(digest(match[1] as string), digest(token))) {
    throw new CollectorError(
      CollectorErrorCode.PermissionDenied,
      `${FIELD}: the token is not this collector's admin token`,
      { field: FIELD },
    );
  }
}
