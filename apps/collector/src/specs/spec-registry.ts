import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { QueuedIterator } from "@nats-io/nats-core";
import { type ExperimentSpec, parseExperimentSpec, specHash, UmbraError } from "@umbra/protocol";
import { CollectorError } from "../collector-error.ts";

/** A validated spec with its content hash (the experiment version). */
export interface RegisteredSpec {
  readonly spec: ExperimentSpec;
  readonly hash: string;
}

/** What {@link SpecRegistry.register} did. */
export interface RegisterResult extends RegisteredSpec {
  /** `created` (first spec of the experiment), `replaced` (a new version) or `unchanged`. */
  readonly change: "created" | "replaced" | "unchanged";
}

/**
 * Experiment specs shared by every replica through the `umbra-specs` KV bucket: registered from
 * files at startup or over HTTP, watched so each replica sees every change.
 */
export class SpecRegistry {
  readonly #kv: KV;
  readonly #specs = new Map<string, RegisteredSpec>();
  #watch: QueuedIterator<KvWatchEntry> | undefined;
  #watching: Promise<void> | undefined;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Opens the registry: loads every spec in the bucket, then follows changes. */
  static async open(kv: KV): Promise<SpecRegistry> {
    const registry = new SpecRegistry(kv);
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry !== null) registry.#apply(entry.key, entry.operation, entry.value);
    }
    const watch = await kv.watch();
    registry.#watch = watch;
    registry.#watching = (async () => {
      for await (const entry of watch) registry.#apply(entry.key, entry.operation, entry.value);
    })().catch(() => undefined);
    return registry;
  }

  /** The spec of `experiment`, if one is registered. */
  get(experiment: string): RegisteredSpec | undefined {
    return this.#specs.get(experiment);
  }

  /** Every registered spec, by experiment name. */
  list(): RegisteredSpec[] {
    return [...this.#specs.values()].sort((a, b) =>
      a.spec.experiment.localeCompare(b.spec.experiment),
    );
  }

  /**
   * Validates `value` as an experiment spec and stores it. `field` prefixes the JSON pointer in
   * errors (e.g. `body`), and `experiment`, when given, must equal the spec's own name.
   */
  async register(
    value: unknown,
    options: { readonly field?: string; readonly experiment?: string } = {},
  ): Promise<RegisterResult> {
    const prefix = options.field ?? "spec";
    let spec: ExperimentSpec;
    try {
      spec = parseExperimentSpec(value);
    } catch (error) {
      const e = UmbraError.from(error);
      throw CollectorError.invalid(
        `${prefix}${e.field?.startsWith("/") ? e.field : `/${e.field ?? ""}`}`,
        e.rule ?? e.message,
        e,
      );
    }
    if (options.experiment !== undefined && spec.experiment !== options.experiment) {
      throw CollectorError.invalid(
        `${prefix}/experiment`,
        `must equal the experiment in the path (${options.experiment}), got ${spec.experiment}`,
      );
    }
    const hash = specHash(spec);
    const before = this.#specs.get(spec.experiment);
    if (before?.hash === hash) return { spec, hash, change: "unchanged" };
    await this.#kv.put(spec.experiment, JSON.stringify(spec));
    const registered = { spec, hash };
    this.#specs.set(spec.experiment, registered);
    return { ...registered, change: before === undefined ? "created" : "replaced" };
  }

  /** Stops following changes. */
  async close(): Promise<void> {
    this.#watch?.stop();
    await this.#watching;
  }

  #apply(key: string, operation: string, value: Uint8Array): void {
    if (operation !== "PUT") {
      this.#specs.delete(key);
      return;
    }
    try {
      const spec = parseExperimentSpec(JSON.parse(new TextDecoder().decode(value)));
      this.#specs.set(spec.experiment, { spec, hash: specHash(spec) });
    } catch {
      // Only register() writes this bucket, after validating; an entry that no longer parses
      // (written by a newer collector) is left out rather than guessed at.
    }
  }
}

/**
 * Reads experiment specs from files and directories (every `*.json` directly inside a
 * directory), validating each. Errors name the file and the JSON pointer of the problem.
 */
export async function loadSpecFiles(paths: readonly string[]): Promise<ExperimentSpec[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (cause) {
      throw CollectorError.invalid("UMBRA_SPECS", `${path} does not exist or is unreadable`, cause);
    }
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => n.endsWith(".json")).sort();
      files.push(...names.map((n) => join(path, n)));
    } else {
      files.push(path);
    }
  }
  const specs: ExperimentSpec[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, "utf8"));
    } catch (cause) {
      throw CollectorError.invalid(file, "must be a readable JSON file", cause);
    }
    let spec: ExperimentSpec;
    try {
      spec = parseExperimentSpec(value);
    } catch (error) {
      const e = UmbraError.from(error);
      throw CollectorError.invalid(`${file}#${e.field ?? ""}`, e.rule ?? e.message, e);
    }
    const other = seen.get(spec.experiment);
    if (other !== undefined) {
      throw CollectorError.invalid(
        `${file}#/experiment`,
        `${spec.experiment} is also declared in ${other}; one spec per experiment`,
      );
    }
    seen.set(spec.experiment, file);
    specs.push(spec);
  }
  return specs;
}
