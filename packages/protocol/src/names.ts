import { UmbraError } from "./errors.ts";

/** gRPC metadata key that marks a mirrored (shadow) call. Its value is `"1"`. */
export const SHADOW_HEADER = "x-umbra-shadow";
/** gRPC metadata key carrying the request id, alongside `ModelInferRequest.id`. */
export const REQUEST_ID_HEADER = "x-request-id";
/** W3C trace context header, passed through unchanged to variants. */
export const TRACEPARENT_HEADER = "traceparent";
/** Prefix of every OIP request/response parameter Umbra sets or reads (never Triton's reserved keys). */
export const PARAMETER_PREFIX = "umbra_";
/** OIP parameters Umbra uses, all strings except the side-effect count (int64). */
export const Parameters = {
  experiment: "umbra_experiment",
  variant: "umbra_variant",
  sideEffectAttempts: "umbra_side_effect_attempts",
  cacheHit: "umbra_cache_hit",
} as const;

/** Headers a mirrored call never carries, unless configured otherwise. */
export const DEFAULT_STRIPPED_HEADERS: readonly string[] = ["authorization", "cookie"];

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Whether `s` can be one token of a NATS subject and a flag-variant name: 1–64 characters of
 * `A–Z a–z 0–9 _ -`. Experiment and variant names must be tokens.
 */
export function isSubjectToken(s: unknown): s is string {
  return typeof s === "string" && TOKEN.test(s);
}

/** Throws an `invalid_argument` {@link UmbraError} naming `field` unless `value` is a subject token. */
export function assertSubjectToken(field: string, value: unknown): string {
  if (!isSubjectToken(value)) {
    throw UmbraError.invalid(
      field,
      `must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-' (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/** Names of the JetStream streams Umbra creates. */
export const Streams = {
  pairs: "UMBRA_PAIRS",
  exposures: "UMBRA_EXPOSURES",
  labels: "UMBRA_LABELS",
  decisions: "UMBRA_DECISIONS",
  deadLetters: "UMBRA_DLQ",
} as const;

/** The kinds of message that can be dead-lettered, one `umbra.dlq.<kind>` subject each. */
export type DeadLetterKind = "pairs" | "exposures" | "labels" | "decisions";

/** Every NATS subject Umbra publishes or consumes, built in one place. */
export const Subjects = {
  /** One paired record per (request, shadow variant). */
  pairs: (experiment: string, variant: string) =>
    `umbra.pairs.${assertSubjectToken("experiment", experiment)}.${assertSubjectToken("variant", variant)}`,
  /** Periodic exposure counts of one experiment. */
  exposures: (experiment: string) =>
    `umbra.exposures.${assertSubjectToken("experiment", experiment)}`,
  /** Late labels of one experiment. */
  labels: (experiment: string) => `umbra.labels.${assertSubjectToken("experiment", experiment)}`,
  /** Decision log of one experiment. */
  decisions: (experiment: string) =>
    `umbra.decisions.${assertSubjectToken("experiment", experiment)}`,
  /** Dead letters of one kind. */
  deadLetters: (kind: DeadLetterKind) => `umbra.dlq.${kind}`,
  /** Wildcards each stream binds to. */
  wildcard: {
    pairs: "umbra.pairs.>",
    exposures: "umbra.exposures.>",
    labels: "umbra.labels.>",
    decisions: "umbra.decisions.>",
    deadLetters: "umbra.dlq.>",
  },
} as const;

/**
 * The JetStream message id of a pair record, `<experiment>/<requestId>:<variant>`, used for
 * server-side dedupe. JetStream dedupes across the whole stream and every experiment shares
 * `UMBRA_PAIRS`, so the experiment is part of the id: two experiments that see the same request
 * id (the same user request shadowed by two teams) must not swallow each other's records.
 */
export function pairMessageId(experiment: string, requestId: string, variant: string): string {
  return `${experiment}/${requestId}:${variant}`;
}
