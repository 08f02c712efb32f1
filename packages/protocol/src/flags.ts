import type { EvaluationContext, FlagMetadata, Logger } from "@openfeature/core";
import { FlagdCore, MemoryStorage } from "@openfeature/flagd-core";
import { UmbraError } from "./errors.ts";
import { assertSubjectToken, isSubjectToken } from "./names.ts";

/** The `$schema` of a flagd flag file. */
export const FLAGD_SCHEMA_URL = "https://flagd.dev/schema/v0/flags.json";
/** Prefix of every experiment flag key: `umbra.<experiment>`. */
export const FLAG_KEY_PREFIX = "umbra.";
/** Basis points in a whole: 10 000 bp = 100%. Sample fractions are integer basis points. */
export const BASIS_POINTS = 10_000;

/** The flag key of an experiment: `umbra.<experiment>`. */
export function experimentFlagKey(experiment: string): string {
  return `${FLAG_KEY_PREFIX}${assertSubjectToken("experiment", experiment)}`;
}

/** The value of an experiment flag: which variant answers, and which variants get a mirrored copy. */
export interface RoutingPlan {
  /** The variant whose answer the user gets. */
  readonly live: string;
  /** The shadow variants this request is mirrored to, in declared order; never contains `live`. */
  readonly mirror: readonly string[];
}

/** A shadow candidate and the share of requests mirrored to it. */
export interface CandidateSample {
  readonly variant: string;
  /** 0–10 000: the share of requests mirrored to this variant. */
  readonly sampleBasisPoints: number;
}

/** Everything an experiment flag encodes; {@link buildExperimentFlag} turns it into a flagd flag. */
export interface ExperimentFlagOptions {
  readonly experiment: string;
  /** The live variant: the last known good, answering every request not in a rollout. */
  readonly live: string;
  /** Shadow candidates in declared order. */
  readonly candidates: readonly CandidateSample[];
  /** During a live stage: the variant answering `basisPoints` of requests instead of `live`. */
  readonly rollout?: { readonly variant: string; readonly basisPoints: number } | undefined;
  /** The promotion stage, e.g. `shadow`, `live-5`, `watch` (informational for SDKs). */
  readonly stage?: string | undefined;
  /** Incremented on every write; writers compare-and-swap on it. */
  readonly revision: number;
  /** Content hash of the frozen experiment spec this flag belongs to. */
  readonly specHash?: string | undefined;
  /** `false` writes `state: DISABLED`: nothing is mirrored and the SDK's code default answers. */
  readonly enabled?: boolean | undefined;
}

/** A flagd flag definition (the subset of fields Umbra writes and reads). */
export interface FlagdFlag {
  state: "ENABLED" | "DISABLED";
  variants: Record<string, unknown>;
  defaultVariant?: string | null;
  targeting?: unknown;
  metadata?: Record<string, string | number | boolean>;
}

/** A flagd flag file in the portable map form. */
export interface FlagFile {
  $schema?: string;
  metadata?: Record<string, string | number | boolean>;
  $evaluators?: Record<string, unknown>;
  flags: Record<string, FlagdFlag>;
}

function checkBasisPoints(field: string, bp: unknown): number {
  if (typeof bp !== "number" || !Number.isInteger(bp) || bp < 0 || bp > BASIS_POINTS) {
    throw UmbraError.invalid(
      field,
      `must be an integer number of basis points from 0 to ${BASIS_POINTS} (got ${JSON.stringify(bp)})`,
    );
  }
  return bp;
}

function checkOptions(o: ExperimentFlagOptions): void {
  assertSubjectToken("experiment", o.experiment);
  assertSubjectToken("live", o.live);
  if (!Number.isInteger(o.revision) || o.revision < 0)
    throw UmbraError.invalid("revision", "must be an integer >= 0");
  const seen = new Set<string>();
  o.candidates.forEach((c, i) => {
    assertSubjectToken(`candidates[${i}].variant`, c.variant);
    checkBasisPoints(`candidates[${i}].sampleBasisPoints`, c.sampleBasisPoints);
    if (c.variant === o.live)
      throw UmbraError.invalid(
        `candidates[${i}].variant`,
        `must differ from the live variant "${o.live}"`,
      );
    if (seen.has(c.variant))
      throw UmbraError.invalid(`candidates[${i}].variant`, `"${c.variant}" is listed twice`);
    seen.add(c.variant);
  });
  if (o.candidates.length > 8)
    throw UmbraError.invalid(
      "candidates",
      "at most 8 candidates per experiment (the flag has 2^n variants)",
    );
  if (o.rollout !== undefined) {
    assertSubjectToken("rollout.variant", o.rollout.variant);
    checkBasisPoints("rollout.basisPoints", o.rollout.basisPoints);
    if (o.rollout.variant === o.live)
      throw UmbraError.invalid("rollout.variant", "must differ from the live variant");
  }
  if (o.stage !== undefined && !/^[a-z0-9_-]{1,32}$/.test(o.stage))
    throw UmbraError.invalid("stage", "must be 1-32 characters of a-z 0-9 _ -");
  if (o.specHash !== undefined && !/^[0-9a-f]{64}$/.test(o.specHash))
    throw UmbraError.invalid("specHash", "must be 64 lowercase hex characters");
}

/** The flag variant key of a plan: the live variant, then `+<variant>` per mirrored candidate. */
export function planVariantKey(live: string, mirrored: readonly string[]): string {
  return [live, ...mirrored].join("+");
}

function subsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 0; mask < 1 << items.length; mask++)
    out.push(items.filter((_, i) => (mask & (1 << i)) !== 0));
  return out;
}

function bucketingSeed(piece: string): unknown {
  // flagKey/<piece>/targetingKey: an independent hash per candidate, so raising one candidate's
  // sample never moves another's assignments. `cat` is always a string, never null (see
  // docs/decisions/0004-flag-shape.md for the JS/Go divergence on null bucketing values).
  return { cat: [{ var: "$flagd.flagKey" }, `/${piece}/`, { var: "targetingKey" }] };
}

/**
 * Builds the flagd flag of an experiment: one object flag whose value is a {@link RoutingPlan}.
 * Targeting joins one independent `fractional` per candidate (the mirror bucket first, so a ramp
 * only adds requests) and, in live stages, one for the rollout variant; it is guarded by
 * `if targetingKey`, so a request without a key gets the default: live only, no mirror.
 *
 * @example
 * ```ts
 * const flag = buildExperimentFlag({ experiment: "ranker", live: "prod", revision: 1,
 *   candidates: [{ variant: "A", sampleBasisPoints: 10_000 }, { variant: "B", sampleBasisPoints: 2_500 }] });
 * ```
 */
export function buildExperimentFlag(o: ExperimentFlagOptions): FlagdFlag {
  checkOptions(o);
  const candidates = o.candidates.map((c) => c.variant);
  const lives = o.rollout === undefined ? [o.live] : [o.live, o.rollout.variant];
  const variants: Record<string, RoutingPlan> = {};
  for (const live of lives) {
    for (const subset of subsets(candidates)) {
      variants[planVariantKey(live, subset)] = { live, mirror: subset.filter((v) => v !== live) };
    }
  }
  const liveExpr =
    o.rollout === undefined
      ? o.live
      : {
          fractional: [
            bucketingSeed("live"),
            [o.rollout.variant, o.rollout.basisPoints],
            [o.live, BASIS_POINTS - o.rollout.basisPoints],
          ],
        };
  const candidateExprs = o.candidates.map((c) => ({
    fractional: [
      bucketingSeed(c.variant),
      [`+${c.variant}`, c.sampleBasisPoints],
      ["", BASIS_POINTS - c.sampleBasisPoints],
    ],
  }));
  const metadata: Record<string, string | number | boolean> = {
    managedBy: "umbra",
    experiment: o.experiment,
    stage: o.stage ?? "shadow",
    live: o.live,
    candidates: candidates.join(","),
    revision: o.revision,
  };
  for (const c of o.candidates) metadata[`sample.${c.variant}`] = c.sampleBasisPoints;
  if (o.rollout !== undefined) {
    metadata.rollout = o.rollout.variant;
    metadata.rolloutBasisPoints = o.rollout.basisPoints;
  }
  if (o.specHash !== undefined) metadata.specHash = o.specHash;
  return {
    state: o.enabled === false ? "DISABLED" : "ENABLED",
    variants,
    defaultVariant: o.live,
    targeting: { if: [{ var: "targetingKey" }, { cat: [liveExpr, ...candidateExprs] }, null] },
    metadata,
  };
}

/**
 * Reads the options back from an experiment flag's metadata and checks that the flag is exactly
 * what those options build (so flagd's evaluation and Umbra's reading of the flag agree).
 * Throws an `invalid_argument` UmbraError naming the field otherwise.
 */
export function readExperimentFlag(flagKey: string, flag: unknown): ExperimentFlagOptions {
  const where = (f: string) => `/flags/${flagKey}/${f}`;
  if (flag === null || typeof flag !== "object")
    throw UmbraError.invalid(where("(flag)"), "must be an object");
  const f = flag as Partial<FlagdFlag>;
  const m = f.metadata;
  if (m === undefined || typeof m !== "object")
    throw UmbraError.invalid(where("metadata"), "is required on an Umbra experiment flag");
  const str = (k: string): string => {
    const v = m[k];
    if (typeof v !== "string") throw UmbraError.invalid(where(`metadata/${k}`), "must be a string");
    return v;
  };
  const num = (k: string): number => {
    const v = m[k];
    if (typeof v !== "number") throw UmbraError.invalid(where(`metadata/${k}`), "must be a number");
    return v;
  };
  const experiment = str("experiment");
  if (flagKey !== `${FLAG_KEY_PREFIX}${experiment}`)
    throw UmbraError.invalid(
      where("metadata/experiment"),
      `must match the flag key (expected "${flagKey.slice(FLAG_KEY_PREFIX.length)}")`,
    );
  const candidateNames = str("candidates") === "" ? [] : str("candidates").split(",");
  let options: ExperimentFlagOptions;
  try {
    options = {
      experiment,
      live: str("live"),
      stage: str("stage"),
      revision: num("revision"),
      candidates: candidateNames.map((variant) => ({
        variant,
        sampleBasisPoints: num(`sample.${variant}`),
      })),
      rollout:
        m.rollout === undefined
          ? undefined
          : { variant: str("rollout"), basisPoints: num("rolloutBasisPoints") },
      specHash: m.specHash === undefined ? undefined : str("specHash"),
      enabled: f.state !== "DISABLED",
    };
    const rebuilt = buildExperimentFlag(options);
    for (const key of ["variants", "defaultVariant", "targeting"] as const) {
      if (canonicalJson(rebuilt[key]) !== canonicalJson(f[key])) {
        throw UmbraError.invalid(
          where(key),
          "does not match the flag's metadata; edit stage, live, candidates and sample.<variant> in metadata and regenerate the flag from it (buildExperimentFlag) rather than editing targeting by hand",
        );
      }
    }
  } catch (e) {
    const err = UmbraError.from(e);
    if (err.field?.startsWith("/flags/")) throw err;
    throw UmbraError.invalid(where("metadata"), err.message, err);
  }
  return options;
}

/** JSON with object keys sorted, so equal values always give equal strings. */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
              a < b ? -1 : a > b ? 1 : 0,
            ),
          )
        : v,
    ) ?? "undefined"
  );
}

/** A plan as the SDK records it: the routing plus the evaluation facts that go on every pair. */
export interface EvaluatedPlan extends RoutingPlan {
  /** The flag variant key the evaluation chose (empty when the code default answered). */
  readonly flagVariant: string;
  /** The OpenFeature resolution reason (`TARGETING_MATCH`, `DEFAULT`, `DISABLED`, `ERROR`, …). */
  readonly reason: string;
  readonly revision: number;
  readonly stage: string;
  readonly specHash: string | undefined;
  /** Per candidate: the share of requests mirrored to it, from flag metadata. */
  readonly sampleBasisPoints: Readonly<Record<string, number>>;
}

/** What an OpenFeature object evaluation returns (the fields {@link planFromEvaluation} reads). */
export interface ObjectEvaluation {
  readonly value: unknown;
  readonly variant?: string | undefined;
  readonly reason?: string | undefined;
  readonly flagMetadata?: FlagMetadata | undefined;
}

/**
 * Turns an OpenFeature evaluation of an experiment flag into an {@link EvaluatedPlan}. A value
 * that is not a routing plan (code default, error, hand-broken flag) yields `fallback`: the
 * declared default variant answers and nothing is mirrored.
 */
export function planFromEvaluation(details: ObjectEvaluation, fallbackLive: string): EvaluatedPlan {
  const md = details.flagMetadata ?? {};
  const revision = typeof md.revision === "number" ? md.revision : 0;
  const stage = typeof md.stage === "string" ? md.stage : "shadow";
  const specHash = typeof md.specHash === "string" ? md.specHash : undefined;
  const reason = details.reason ?? "UNKNOWN";
  const v = details.value as Partial<RoutingPlan> | null;
  const valid =
    v !== null &&
    typeof v === "object" &&
    isSubjectToken(v.live) &&
    Array.isArray(v.mirror) &&
    v.mirror.every((x) => isSubjectToken(x) && x !== v.live);
  if (!valid || reason === "DISABLED" || reason === "ERROR") {
    return {
      live: fallbackLive,
      mirror: [],
      flagVariant: "",
      reason,
      revision,
      stage,
      specHash,
      sampleBasisPoints: {},
    };
  }
  const sampleBasisPoints: Record<string, number> = {};
  for (const [k, val] of Object.entries(md)) {
    if (k.startsWith("sample.") && typeof val === "number") sampleBasisPoints[k.slice(7)] = val;
  }
  return {
    live: v.live as string,
    mirror: v.mirror as string[],
    flagVariant: details.variant ?? "",
    reason,
    revision,
    stage,
    specHash,
    sampleBasisPoints,
  };
}

/** A problem found in a flag file: which flag, where, and the rule it broke. */
export interface FlagFileProblem {
  readonly flag: string | undefined;
  readonly path: string;
  readonly rule: string;
}

const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };

/** The evaluation contexts a dry run resolves every flag with. */
const DRY_RUN_KEYS = Array.from({ length: 32 }, (_, i) => `dry-run-${i}`);

/**
 * Validates a whole flag file as flagd would load it: the map form, flagd's JSON schema (the
 * validator that ships with the pinned `@openfeature/flagd-core`), a flagd-core load (bad state,
 * default variant not among variants), a dry-run evaluation of every flag (targeting that yields
 * an unknown variant), and, for `umbra.*` flags, that the flag matches its metadata.
 * Returns every problem found; an empty list means the file is safe to write.
 */
export function validateFlagFile(value: unknown): FlagFileProblem[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [{ flag: undefined, path: "(file)", rule: "must be a JSON object" }];
  }
  const file = value as Partial<FlagFile>;
  if (file.flags === null || typeof file.flags !== "object" || Array.isArray(file.flags)) {
    return [
      {
        flag: undefined,
        path: "/flags",
        rule: "must be an object mapping flag keys to flags (the portable map form)",
      },
    ];
  }
  const structural = structuralProblems(file.flags);
  if (structural.length > 0) return structural;
  const text = JSON.stringify(value);
  try {
    new MemoryStorage(silentLogger).setConfigurations(text, true);
  } catch (e) {
    return schemaProblems(e);
  }
  const core = new FlagdCore(undefined, silentLogger);
  core.setConfigurations(text);
  const problems: FlagFileProblem[] = [];
  for (const [key, flag] of Object.entries(file.flags)) {
    for (const ctx of [
      {},
      ...DRY_RUN_KEYS.map((targetingKey) => ({ targetingKey })),
    ] as EvaluationContext[]) {
      const r = core.resolve(flagType(flag), key, undefined as never, ctx, silentLogger);
      if (r.reason === "ERROR") {
        problems.push({
          flag: key,
          path: `/flags/${key}/targeting`,
          rule: `evaluation fails (${r.errorCode ?? "ERROR"}: ${r.errorMessage ?? "no message"})${"targetingKey" in ctx ? ` for targetingKey "${ctx.targetingKey}"` : " without a targetingKey"}`,
        });
        break;
      }
    }
    if (key.startsWith(FLAG_KEY_PREFIX)) {
      try {
        readExperimentFlag(key, flag);
      } catch (e) {
        const err = UmbraError.from(e);
        problems.push({
          flag: key,
          path: err.field ?? `/flags/${key}`,
          rule: err.rule ?? err.message,
        });
      }
    }
  }
  return problems;
}

/** The rules flagd itself refuses a whole file for, checked first so the message names the flag. */
function structuralProblems(flags: Record<string, unknown>): FlagFileProblem[] {
  const problems: FlagFileProblem[] = [];
  for (const [key, raw] of Object.entries(flags)) {
    const at = (f: string) => `/flags/${key}${f}`;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      problems.push({ flag: key, path: at(""), rule: "must be an object" });
      continue;
    }
    const flag = raw as Partial<FlagdFlag>;
    if (flag.state !== "ENABLED" && flag.state !== "DISABLED") {
      problems.push({
        flag: key,
        path: at("/state"),
        rule: `must be "ENABLED" or "DISABLED" (got ${JSON.stringify(flag.state)})`,
      });
    }
    const variants = flag.variants;
    if (
      variants === null ||
      typeof variants !== "object" ||
      Array.isArray(variants) ||
      Object.keys(variants).length === 0
    ) {
      problems.push({
        flag: key,
        path: at("/variants"),
        rule: "must be an object with at least one variant",
      });
      continue;
    }
    const types = new Set(
      Object.values(variants).map((v) =>
        Array.isArray(v) ? "array" : v === null ? "null" : typeof v,
      ),
    );
    if (types.size > 1)
      problems.push({
        flag: key,
        path: at("/variants"),
        rule: `all variants must have the same type (found ${[...types].join(", ")})`,
      });
    if (types.has("array") || types.has("null"))
      problems.push({
        flag: key,
        path: at("/variants"),
        rule: "variants must be booleans, strings, numbers or JSON objects (not arrays or null)",
      });
    const dv = flag.defaultVariant;
    if (
      dv !== undefined &&
      dv !== null &&
      !(typeof dv === "string" && Object.hasOwn(variants, dv))
    ) {
      problems.push({
        flag: key,
        path: at("/defaultVariant"),
        rule: `must name one of the variants (${Object.keys(variants).slice(0, 8).join(", ")}${Object.keys(variants).length > 8 ? ", …" : ""}); got ${JSON.stringify(dv)}`,
      });
    }
  }
  return problems;
}

function flagType(flag: FlagdFlag): "boolean" | "string" | "number" | "object" {
  const first = Object.values(flag.variants ?? {})[0];
  if (typeof first === "boolean") return "boolean";
  if (typeof first === "string") return "string";
  if (typeof first === "number") return "number";
  return "object";
}

function schemaProblems(e: unknown): FlagFileProblem[] {
  const message = e instanceof Error ? e.message : String(e);
  const json = message.indexOf("[");
  if (json >= 0) {
    try {
      const errors = JSON.parse(message.slice(json)) as {
        instancePath: string;
        message: string;
        params?: unknown;
      }[];
      const seen = new Set<string>();
      return errors
        .map((er) => {
          const flag = /^\/flags\/([^/]+)/
            .exec(er.instancePath)?.[1]
            ?.replaceAll("~1", "/")
            .replaceAll("~0", "~");
          return {
            flag,
            path: er.instancePath || "(file)",
            rule: `${er.message}${er.params ? ` ${JSON.stringify(er.params)}` : ""} (flagd schema)`,
          };
        })
        .filter((p) => {
          const k = `${p.path} ${p.rule}`;
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
    } catch {
      // fall through: not the ajv error list
    }
  }
  return [{ flag: undefined, path: "(file)", rule: message.split("\n")[0] ?? message }];
}

/** Throws an `invalid_argument` UmbraError listing every problem unless the flag file is valid. */
export function assertValidFlagFile(value: unknown): FlagFile {
  const problems = validateFlagFile(value);
  if (problems.length > 0) {
    const first = problems[0] as FlagFileProblem;
    const list = problems
      .map((p) => `${p.flag === undefined ? "" : `flag "${p.flag}" `}${p.path}: ${p.rule}`)
      .join("; ");
    throw new UmbraError("invalid_argument", `flag file rejected: ${list}`, { field: first.path });
  }
  return value as FlagFile;
}

/** Builds a flag file holding the given flags, with a constant flag-set id. */
export function buildFlagFile(flags: Record<string, FlagdFlag>, flagSetId = "umbra"): FlagFile {
  // Keep flag-set metadata constant: flagd-core merges it into every flag's hash, so changing it
  // would report every flag as changed on every write.
  return { $schema: FLAGD_SCHEMA_URL, metadata: { flagSetId }, flags };
}

/**
 * Evaluates an experiment flag with flagd-core, as an in-process flagd provider would; for tests,
 * simulations, golden vectors and the collector's sample-ratio checks.
 */
export function createFlagEvaluator(
  file: FlagFile,
): (
  experiment: string,
  targetingKey: string | undefined,
  context?: EvaluationContext,
) => EvaluatedPlan & { readonly value: unknown } {
  const core = new FlagdCore(undefined, silentLogger);
  core.setConfigurations(JSON.stringify(file));
  return (experiment, targetingKey, context = {}) => {
    const key = experimentFlagKey(experiment);
    const ctx = targetingKey === undefined ? context : { ...context, targetingKey };
    const r = core.resolveObjectEvaluation(key, {}, ctx, silentLogger);
    const fallback = typeof r.flagMetadata.live === "string" ? r.flagMetadata.live : "";
    return { ...planFromEvaluation(r, fallback), value: r.value };
  };
}
