import { basename, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import type { ModelDefinition, ModelFunction } from "./model.ts";
import type { ReferenceKnobs } from "./reference/knobs.ts";
import {
  ReferenceModelKind,
  type ReferenceModelOptions,
  referenceModel,
} from "./reference/reference-model.ts";
import type { ServeVariantOptions } from "./serve-variant.ts";

/** What `umbra-variant`'s arguments say to serve, and how. */
export interface CliConfig {
  readonly serve: Omit<ServeVariantOptions, "models">;
  readonly reference?: {
    readonly kind: ReferenceModelKind;
    readonly options: ReferenceModelOptions;
  };
  readonly module?: string;
  readonly name?: string;
}

const integer = (min: number) => (value: string) => {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new InvalidArgumentError(`must be an integer >= ${min}`);
  }
  return n;
};
const number =
  (min: number, max = Number.POSITIVE_INFINITY) =>
  (value: string) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `must be a number from ${min}${Number.isFinite(max) ? ` to ${max}` : " up"}`,
      );
    }
    return n;
  };

const KNOB_FLAGS = [
  "seed",
  "latencyMs",
  "jitterMs",
  "slowFactor",
  "errorRate",
  "hangProbability",
  "warmupCalls",
  "warmupMs",
  "divergeField",
  "divergeValue",
  "divergeRate",
  "sideEffectUrl",
  "sideEffectProbability",
  "features",
  "classes",
  "input",
  "dimensions",
  "weightsSeed",
  "modelVersion",
] as const;

function program(): Command {
  return new Command("umbra-variant")
    .description(
      "Serve a model over the Open Inference Protocol (gRPC) and the umbra.v1.Mirror stream.",
    )
    .addOption(
      new Option("--reference <kind>", "serve a reference model")
        .choices(Object.keys(ReferenceModelKind))
        .conflicts("module"),
    )
    .option("--module <path>", "serve the model(s) a JavaScript or TypeScript module exports")
    .option("--name <name>", "model name (default: the reference kind, or the module's file name)")
    .option("--port <port>", "port to listen on; 0 picks a free one", integer(0), 0)
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--max-message-size-bytes <n>", "largest message received or sent", integer(1))
    .option("--shutdown-timeout-ms <n>", "how long shutdown lets calls finish", integer(1))
    .option("--not-ready", "start not ready (UNAVAILABLE); SIGUSR2 toggles readiness")
    .option("--no-guard", "do not install the shadow side-effect guard")
    .option("--seed <seed>", "seed of the reference model's misbehaviour")
    .option("--latency-ms <ms>", "added latency per call", number(0))
    .option("--jitter-ms <ms>", "uniform jitter added to the latency", number(0))
    .option("--slow-factor <f>", "multiply the latency (e.g. 50)", number(1))
    .option("--error-rate <p>", "probability a call fails", number(0, 1))
    .option("--hang-probability <p>", "probability a call never answers", number(0, 1))
    .option("--warmup-calls <n>", "the first n calls are slow (cold cache)", integer(0))
    .option("--warmup-ms <ms>", "extra latency of a warm-up call", number(0))
    .option(
      "--diverge-field <field>",
      "diverge on the segment where this input field or parameter…",
    )
    .option("--diverge-value <value>", "…equals this value")
    .option("--diverge-rate <p>", "probability of diverging on that segment", number(0, 1))
    .option("--side-effect-url <url>", "each call first tries to POST to this URL")
    .option("--side-effect-probability <p>", "probability of that attempt", number(0, 1))
    .option("--features <n>", "classifier: feature vector length", integer(1))
    .option("--classes <labels>", "classifier: comma-separated labels")
    .option("--input <mode>", "classifier: features|json; embedding: text|features")
    .option("--dimensions <n>", "embedding: vector length", integer(2))
    .option("--weights-seed <seed>", "seed of the reference model's answers")
    .option("--model-version <version>", "version reported by ModelMetadata");
}

/** Thrown for bad arguments: `message` names the flag and the rule. */
export class CliUsageError extends Error {
  override readonly name = "CliUsageError";
}

/**
 * Parses `umbra-variant` arguments (without `node` and the script). Throws a
 * {@link CliUsageError} naming the flag for invalid input.
 */
export function parseCliArgs(argv: readonly string[]): CliConfig {
  const cmd = program()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version") throw error;
    throw new CliUsageError(e.message.replace(/^error: /, ""));
  }
  const o = cmd.opts();
  if (o.reference === undefined && o.module === undefined) {
    throw new CliUsageError(
      "one of --reference <classifier|embedding|text> or --module <path> is required",
    );
  }
  if ((o.divergeField === undefined) !== (o.divergeValue === undefined)) {
    throw new CliUsageError("--diverge-field and --diverge-value go together");
  }
  if (o.module !== undefined) {
    const used = KNOB_FLAGS.filter((k) => o[k] !== undefined);
    if (used.length > 0) {
      const flag = used[0]?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      throw new CliUsageError(`--${flag} applies to --reference models only`);
    }
  }
  if (o.sideEffectUrl !== undefined && !URL.canParse(o.sideEffectUrl)) {
    throw new CliUsageError(
      `option '--side-effect-url <url>' argument '${o.sideEffectUrl}' is invalid. must be an absolute URL`,
    );
  }
  const serve: Omit<ServeVariantOptions, "models"> = {
    port: o.port,
    host: o.host,
    ready: o.notReady !== true,
    guardSideEffects: o.guard !== false,
    ...(o.maxMessageSizeBytes === undefined ? {} : { maxMessageSizeBytes: o.maxMessageSizeBytes }),
    ...(o.shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs: o.shutdownTimeoutMs }),
  };
  const name = o.name as string | undefined;
  if (o.module !== undefined) {
    return { serve, module: o.module, ...(name === undefined ? {} : { name }) };
  }
  const knobs: { -readonly [K in keyof ReferenceKnobs]: ReferenceKnobs[K] } = {};
  if (o.seed !== undefined) knobs.seed = o.seed;
  if (o.latencyMs !== undefined || o.jitterMs !== undefined) {
    knobs.latency = { baseMs: o.latencyMs ?? 0, jitterMs: o.jitterMs ?? 0 };
  }
  if (o.slowFactor !== undefined) knobs.slowFactor = o.slowFactor;
  if (o.errorRate !== undefined) knobs.errorRate = o.errorRate;
  if (o.hangProbability !== undefined) knobs.hangProbability = o.hangProbability;
  if (o.warmupCalls !== undefined)
    knobs.warmup = { calls: o.warmupCalls, extraMs: o.warmupMs ?? 0 };
  if (o.divergeField !== undefined) {
    knobs.divergence = {
      field: o.divergeField,
      value: o.divergeValue,
      ...(o.divergeRate === undefined ? {} : { rate: o.divergeRate }),
    };
  }
  if (o.sideEffectUrl !== undefined) {
    knobs.sideEffect = {
      url: o.sideEffectUrl,
      ...(o.sideEffectProbability === undefined ? {} : { probability: o.sideEffectProbability }),
    };
  }
  const kind = o.reference as ReferenceModelKind;
  const input = o.input as string | undefined;
  const inputs: Record<ReferenceModelKind, readonly string[]> = {
    classifier: ["features", "json"],
    embedding: ["text", "features"],
    text: [],
  };
  if (input !== undefined && !inputs[kind].includes(input)) {
    throw new CliUsageError(
      inputs[kind].length === 0
        ? `--input does not apply to --reference ${kind}`
        : `option '--input <mode>' argument '${input}' is invalid. for --reference ${kind} it must be ${inputs[kind].join(" or ")}`,
    );
  }
  const options: ReferenceModelOptions = {
    ...knobs,
    ...(o.features === undefined ? {} : { featureCount: o.features }),
    ...(o.classes === undefined
      ? {}
      : {
          classes: String(o.classes)
            .split(",")
            .map((c) => c.trim()),
        }),
    ...(input === undefined ? {} : { input: input as "features" | "json" | "text" }),
    ...(o.dimensions === undefined ? {} : { dimensions: o.dimensions }),
    ...(o.weightsSeed === undefined ? {} : { weightsSeed: o.weightsSeed }),
    ...(o.modelVersion === undefined ? {} : { version: o.modelVersion }),
  };
  return { serve, reference: { kind, options }, ...(name === undefined ? {} : { name }) };
}

/** The CLI's help text. */
export function cliHelp(): string {
  return program().helpInformation();
}

/**
 * The models a {@link CliConfig} says to serve: a reference model, or what a module exports —
 * `models` (an object of models), else `model` or the default export (one model, named by
 * `--name` or the file name).
 */
export async function loadCliModels(
  config: CliConfig,
  cwd: string = process.cwd(),
): Promise<Record<string, ModelFunction | ModelDefinition>> {
  if (config.reference !== undefined) {
    return {
      [config.name ?? config.reference.kind]: referenceModel(
        config.reference.kind,
        config.reference.options,
      ),
    };
  }
  const path = resolve(cwd, config.module as string);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliUsageError(
      `--module: cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof mod.models === "object" && mod.models !== null) {
    return mod.models as Record<string, ModelFunction | ModelDefinition>;
  }
  const one = mod.model ?? mod.default;
  if (typeof one === "function" || (typeof one === "object" && one !== null)) {
    return {
      [config.name ?? basename(path, extname(path))]: one as ModelFunction | ModelDefinition,
    };
  }
  throw new CliUsageError(
    `--module: ${path} exports neither \`models\` nor \`model\` nor a default export`,
  );
}
