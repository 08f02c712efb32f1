import { type Static, type TSchema, Type } from "@sinclair/typebox";

/** The schema version this build writes and reads. A breaking change bumps it. */
export const SCHEMA_VERSION = 1;

const Token = Type.String({
  pattern: "^[A-Za-z0-9_-]{1,64}$",
  description: "1-64 characters of A-Z a-z 0-9 _ - (a NATS subject token)",
});
const RequestId = Type.String({
  pattern: "^[\\x21-\\x7e]{1,128}$",
  description:
    "1-128 printable ASCII characters, no spaces (flagd buckets ASCII keys identically everywhere)",
});
const NonNegativeInt = Type.Integer({ minimum: 0 });
const DurationMs = Type.Number({ minimum: 0, description: "milliseconds, >= 0, finite" });
const EpochMs = Type.Integer({ minimum: 0, description: "milliseconds since the Unix epoch" });
const Sha256Hex = Type.String({ pattern: "^[0-9a-f]{64}$" });

/** Segment attributes (device, region, …): at most 16, string values of at most 128 characters. */
const Segment = Type.Record(
  Type.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$" }),
  Type.String({ maxLength: 128 }),
  {
    maxProperties: 16,
  },
);

/** Scalar input features kept for divergence analysis: at most 64. */
const Features = Type.Record(
  Type.String({ minLength: 1, maxLength: 64 }),
  Type.Union([Type.Number(), Type.String({ maxLength: 256 }), Type.Boolean()]),
  { maxProperties: 64 },
);

const ErrorInfo = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64 }),
    message: Type.String({ maxLength: 2048 }),
  },
  { description: "a failure: a stable code and a human message" },
);

/** What happened to one sampled mirror. Every sampled mirror ends in exactly one outcome. */
export const ShadowOutcome = {
  ok: "ok",
  error: "error",
  timeout: "timeout",
  dropped: "dropped",
  rejectedByBreaker: "rejected_by_breaker",
  skippedUnhealthy: "skipped_unhealthy",
} as const;
/** One of the {@link ShadowOutcome} values. */
export type ShadowOutcome = (typeof ShadowOutcome)[keyof typeof ShadowOutcome];

/** Why a mirror was dropped before it was sent. */
export const DropReason = {
  queueFull: "queue_full",
  inFlightCap: "in_flight_cap",
  closed: "closed",
  encodeFailed: "encode_failed",
} as const;
/** One of the {@link DropReason} values. */
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

const OutcomeSchema = Type.Union(Object.values(ShadowOutcome).map((o) => Type.Literal(o)));

/** How much of the input a record carries. */
export const InputCapture = { full: "full", sha256: "sha256", none: "none" } as const;
/** One of the {@link InputCapture} values. */
export type InputCapture = (typeof InputCapture)[keyof typeof InputCapture];

const InputSchema = Type.Object({
  capture: Type.Union(Object.values(InputCapture).map((c) => Type.Literal(c))),
  value: Type.Optional(
    Type.Unknown({ description: "the input after redaction, when capture is full" }),
  ),
  sha256: Type.Optional(Sha256Hex),
});

/**
 * One paired record per (request, shadow variant): the production answer and the shadow's
 * outcome for the same input and request timestamp.
 */
export const PairRecordSchema = Type.Object(
  {
    schema: Type.Literal(SCHEMA_VERSION),
    kind: Type.Literal("pair"),
    requestId: RequestId,
    experiment: Token,
    variant: Token,
    liveVariant: Token,
    flag: Type.Object({
      variant: Type.String({
        maxLength: 256,
        description: "the flag variant key the evaluation chose",
      }),
      reason: Type.String({ maxLength: 64, description: "the OpenFeature resolution reason" }),
      revision: NonNegativeInt,
    }),
    specHash: Type.Optional(Sha256Hex),
    stage: Type.Optional(Type.String({ maxLength: 32 })),
    sampleBasisPoints: Type.Integer({ minimum: 0, maximum: 10_000 }),
    requestTimestampMs: EpochMs,
    segment: Segment,
    features: Type.Optional(Features),
    input: InputSchema,
    production: Type.Object({
      output: Type.Optional(Type.Unknown()),
      latencyMs: DurationMs,
      error: Type.Optional(ErrorInfo),
      cacheHit: Type.Optional(Type.Boolean()),
    }),
    shadow: Type.Object({
      outcome: OutcomeSchema,
      output: Type.Optional(Type.Unknown()),
      latencyMs: Type.Optional(DurationMs),
      error: Type.Optional(ErrorInfo),
      dropReason: Type.Optional(Type.String({ maxLength: 64 })),
      cacheHit: Type.Optional(Type.Boolean()),
    }),
    warmup: Type.Boolean(),
    sideEffectAttempts: NonNegativeInt,
    sdkInstanceId: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { $id: "umbra.PairRecord", title: "PairRecord" },
);
/** A paired production/shadow record; see {@link PairRecordSchema}. */
export type PairRecord = Static<typeof PairRecordSchema>;

const MirrorCounts = Type.Object({
  planned: NonNegativeInt,
  dispatched: NonNegativeInt,
  dropped: Type.Record(Type.String({ maxLength: 64 }), NonNegativeInt),
});

/**
 * Periodic exposure counts of one SDK instance for one experiment: what the SDK saw and what it
 * planned, dispatched and dropped, so the collector can compute coverage and detect loss.
 */
export const ExposureRecordSchema = Type.Object(
  {
    schema: Type.Literal(SCHEMA_VERSION),
    kind: Type.Literal("exposure"),
    experiment: Token,
    sdkInstanceId: Type.String({ minLength: 1, maxLength: 128 }),
    seq: Type.Integer({
      minimum: 1,
      description: "1, 2, 3… per sdkInstanceId; a gap is lost evidence",
    }),
    windowStartMs: EpochMs,
    windowEndMs: EpochMs,
    entries: Type.Array(
      Type.Object({
        plan: Type.String({
          maxLength: 256,
          description: "the flag variant key (live and mirror set)",
        }),
        segment: Segment,
        requests: NonNegativeInt,
        mirrors: Type.Record(Token, MirrorCounts, { additionalProperties: false }),
      }),
      { maxItems: 10_000 },
    ),
  },
  { $id: "umbra.ExposureRecord", title: "ExposureRecord" },
);
/** Exposure counts; see {@link ExposureRecordSchema}. */
export type ExposureRecord = Static<typeof ExposureRecordSchema>;

/** A ground-truth label that arrived (possibly days) after the prediction, joined by request id. */
export const LabelRecordSchema = Type.Object(
  {
    schema: Type.Literal(SCHEMA_VERSION),
    kind: Type.Literal("label"),
    experiment: Token,
    requestId: RequestId,
    label: Type.Unknown({ description: "the true answer (class, value, text…)" }),
    observedAtMs: EpochMs,
    source: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { $id: "umbra.LabelRecord", title: "LabelRecord" },
);
/** A late label; see {@link LabelRecordSchema}. */
export type LabelRecord = Static<typeof LabelRecordSchema>;

/**
 * One evaluation or transition of an experiment's promotion state machine, with the evidence
 * behind it. The evidence shape is owned by the decision engine; the envelope is fixed here.
 */
export const DecisionRecordSchema = Type.Object(
  {
    schema: Type.Literal(SCHEMA_VERSION),
    kind: Type.Literal("decision"),
    experiment: Token,
    specHash: Sha256Hex,
    atMs: EpochMs,
    seq: Type.Integer({ minimum: 1 }),
    from: Type.String({ minLength: 1, maxLength: 32 }),
    to: Type.String({ minLength: 1, maxLength: 32 }),
    outcome: Type.String({
      minLength: 1,
      maxLength: 32,
      description: "pass | fail | inconclusive | manual …",
    }),
    rule: Type.String({ maxLength: 128 }),
    reason: Type.String({ maxLength: 4096, description: "the decision in words" }),
    actor: Type.String({ minLength: 1, maxLength: 128, description: "collector | human:<name>" }),
    flagRevision: Type.Optional(NonNegativeInt),
    evidence: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: "umbra.DecisionRecord", title: "DecisionRecord" },
);
/** A decision log entry; see {@link DecisionRecordSchema}. */
export type DecisionRecord = Static<typeof DecisionRecordSchema>;

/** Every record kind, by its `kind` field. */
export const RecordSchemas = {
  pair: PairRecordSchema,
  exposure: ExposureRecordSchema,
  label: LabelRecordSchema,
  decision: DecisionRecordSchema,
} as const satisfies Record<string, TSchema>;

/** The `kind` of a record. */
export type RecordKind = keyof typeof RecordSchemas;
/** A record of a given kind. */
export type RecordOf<K extends RecordKind> = Static<(typeof RecordSchemas)[K]>;
