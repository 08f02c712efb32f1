import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { UmbraError } from "./errors.ts";
import { BASIS_POINTS, canonicalJson } from "./flags.ts";

const Token = Type.String({
  pattern: "^[A-Za-z0-9_-]{1,64}$",
  description: "a subject-safe token",
});
const Fraction = Type.Number({ minimum: 0, maximum: 1 });
const PositiveMs = Type.Integer({ minimum: 1, description: "milliseconds" });
const Bp = Type.Integer({
  minimum: 0,
  maximum: BASIS_POINTS,
  description: "basis points (10 000 = 100%)",
});
const Path = Type.String({
  minLength: 1,
  maxLength: 256,
  description: "a JSON-pointer-like path, '*' matches any array item",
});

/** How one output field is compared between production and shadow. */
export const ComparatorSpecSchema = Type.Union([
  Type.Object(
    { kind: Type.Literal("exact"), ignorePaths: Type.Optional(Type.Array(Path, { maxItems: 64 })) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("structured"),
      ignorePaths: Type.Optional(Type.Array(Path, { maxItems: 64 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("numeric"),
      absTolerance: Type.Optional(Type.Number({ minimum: 0 })),
      relTolerance: Type.Optional(Type.Number({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("cosine"),
      minSimilarity: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal("rougeL"), minScore: Type.Optional(Fraction) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("label"),
      topK: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal("custom"), name: Token }, { additionalProperties: false }),
]);
/** A comparator declaration; see {@link ComparatorSpecSchema}. */
export type ComparatorSpec = Static<typeof ComparatorSpecSchema>;

const VariantTarget = Type.Union([
  Type.Object({ kind: Type.Literal("local") }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal("oip"),
      address: Type.String({
        minLength: 1,
        maxLength: 256,
        description: "host:port of an Open Inference Protocol server",
      }),
      model: Type.String({ minLength: 1, maxLength: 256 }),
      transport: Type.Optional(Type.Union([Type.Literal("unary"), Type.Literal("stream")])),
      deadlineMs: Type.Optional(PositiveMs),
    },
    { additionalProperties: false },
  ),
]);

const Stage = Type.Object(
  {
    name: Type.String({ pattern: "^[a-z0-9_-]{1,32}$" }),
    rolloutBasisPoints: Type.Integer({ minimum: 1, maximum: BASIS_POINTS }),
    holdMs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/**
 * An experiment spec: the variants, how their outputs are compared, the segments that must be
 * covered and the promotion criteria — declared before shadowing starts and frozen. Its content
 * hash ({@link specHash}) identifies the experiment version; a changed spec is a new version.
 */
export const ExperimentSpecSchema = Type.Object(
  {
    schema: Type.Literal(1),
    experiment: Token,
    description: Type.Optional(Type.String({ maxLength: 2048 })),
    live: Token,
    fallback: Type.Optional(Token),
    variants: Type.Record(
      Token,
      Type.Object(
        {
          target: VariantTarget,
          sampleBasisPoints: Type.Optional(Bp),
          control: Type.Optional(
            Type.Boolean({ description: "production mirrored to itself: the noise floor" }),
          ),
        },
        { additionalProperties: false },
      ),
      { minProperties: 2, maxProperties: 9, additionalProperties: false },
    ),
    outputs: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), ComparatorSpecSchema, {
      minProperties: 1,
      maxProperties: 32,
    }),
    segments: Type.Array(
      Type.Object(
        {
          attribute: Type.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$" }),
          values: Type.Optional(
            Type.Array(Type.String({ maxLength: 128 }), { minItems: 1, maxItems: 64 }),
          ),
        },
        { additionalProperties: false },
      ),
      { maxItems: 8 },
    ),
    criteria: Type.Object(
      {
        maxDivergenceRate: Type.Optional(Fraction),
        qualityMargin: Type.Optional(Fraction),
        maxShadowP99LatencyMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        maxErrorRate: Type.Optional(Fraction),
        minSamples: Type.Integer({ minimum: 1 }),
        minDurationMs: Type.Integer({ minimum: 0 }),
        maxDurationMs: Type.Optional(PositiveMs),
        minSamplesPerSegment: Type.Optional(Type.Integer({ minimum: 1 })),
        maxSideEffectAttempts: Type.Optional(Type.Integer({ minimum: 0 })),
        minCoverage: Type.Optional(Fraction),
        alpha: Type.Optional(
          Type.Number({
            exclusiveMinimum: 0,
            maximum: 0.5,
            description: "overall false-decision rate; default 0.05",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    stages: Type.Optional(Type.Array(Stage, { minItems: 1, maxItems: 10 })),
    watchMs: Type.Optional(Type.Integer({ minimum: 0 })),
    labels: Type.Optional(
      Type.Object(
        { horizonsMs: Type.Array(PositiveMs, { minItems: 1, maxItems: 8 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: "umbra.ExperimentSpec", title: "ExperimentSpec", additionalProperties: false },
);
/** A validated experiment spec; see {@link ExperimentSpecSchema}. */
export type ExperimentSpec = Static<typeof ExperimentSpecSchema>;

/** The stages used when a spec declares none: 1% → 5% → 25% → 50% → 100%, 15 minutes each. */
export const DEFAULT_STAGES: ExperimentSpec["stages"] = [
  { name: "live-1", rolloutBasisPoints: 100, holdMs: 900_000 },
  { name: "live-5", rolloutBasisPoints: 500, holdMs: 900_000 },
  { name: "live-25", rolloutBasisPoints: 2_500, holdMs: 900_000 },
  { name: "live-50", rolloutBasisPoints: 5_000, holdMs: 900_000 },
  { name: "live-100", rolloutBasisPoints: 10_000, holdMs: 900_000 },
];

/** Label join windows used when a spec declares none: 1, 3 and 7 days. */
export const DEFAULT_LABEL_HORIZONS_MS = [86_400_000, 3 * 86_400_000, 7 * 86_400_000];

const specCheck = TypeCompiler.Compile(ExperimentSpecSchema);

/**
 * Validates an experiment spec: its schema, then the rules between fields. Throws an
 * `invalid_argument` UmbraError whose `field` is the JSON pointer of the first problem.
 */
export function parseExperimentSpec(value: unknown): ExperimentSpec {
  if (!specCheck.Check(value)) {
    const first = specCheck.Errors(value).First();
    throw UmbraError.invalid(
      first?.path || "(spec)",
      first?.message.toLowerCase() ?? "does not match the experiment spec schema",
    );
  }
  const spec = value;
  if (!(spec.live in spec.variants))
    throw UmbraError.invalid(
      "/live",
      `must name one of the variants (${Object.keys(spec.variants).join(", ")})`,
    );
  if (spec.fallback !== undefined && !(spec.fallback in spec.variants))
    throw UmbraError.invalid("/fallback", "must name one of the variants");
  const controls = Object.entries(spec.variants).filter(([, v]) => v.control === true);
  if (controls.length > 1)
    throw UmbraError.invalid("/variants", "at most one variant can be the control");
  if (spec.variants[spec.live]?.control === true)
    throw UmbraError.invalid(
      `/variants/${spec.live}/control`,
      "the live variant cannot be the control (the control is production mirrored to itself as a shadow)",
    );
  if (Object.keys(spec.variants).length - 1 > 8)
    throw UmbraError.invalid("/variants", "at most 8 shadow variants");
  const stages = spec.stages ?? [];
  for (let i = 1; i < stages.length; i++) {
    if ((stages[i]?.rolloutBasisPoints ?? 0) <= (stages[i - 1]?.rolloutBasisPoints ?? 0)) {
      throw UmbraError.invalid(
        `/stages/${i}/rolloutBasisPoints`,
        "must be larger than the previous stage's",
      );
    }
  }
  if (stages.length > 0 && stages.at(-1)?.rolloutBasisPoints !== BASIS_POINTS) {
    throw UmbraError.invalid(
      `/stages/${stages.length - 1}/rolloutBasisPoints`,
      `the last stage must roll out to ${BASIS_POINTS} (100%)`,
    );
  }
  const c = spec.criteria;
  if (c.maxDurationMs !== undefined && c.maxDurationMs < c.minDurationMs)
    throw UmbraError.invalid("/criteria/maxDurationMs", "must be >= minDurationMs");
  if (c.minSamplesPerSegment !== undefined && spec.segments.length === 0)
    throw UmbraError.invalid(
      "/criteria/minSamplesPerSegment",
      "needs at least one declared segment",
    );
  return spec;
}

/**
 * The content hash of a spec: sha256 of its canonical JSON (keys sorted), lowercase hex. Two
 * specs with the same content have the same hash whatever their key order.
 */
export function specHash(spec: ExperimentSpec): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(spec))));
}
