import { createHash, randomBytes } from "node:crypto";
import { readFileSync, renameSync, unlinkSync } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  assertValidFlagFile,
  buildExperimentFlag,
  buildFlagFile,
  type CandidateSample,
  canonicalJson,
  type ExperimentFlagOptions,
  experimentFlagKey,
  type FlagdFlag,
  type FlagFile,
  readExperimentFlag,
  UmbraError,
} from "@umbra/protocol";
import type { FlagMark } from "./promotion-control.ts";

/** One experiment flag as found in the flag file. */
export interface ExperimentFlagView {
  /** `umbra.<experiment>`. */
  readonly key: string;
  readonly exists: boolean;
  /** `metadata.revision`; 0 when the flag is absent or has no numeric revision. */
  readonly revision: number;
  /** sha256 of the flag's canonical JSON; `null` when absent. */
  readonly sha256: string | null;
  /** `state: DISABLED` — the kill switch. */
  readonly disabled: boolean;
  /** The routing read back from metadata; `null` when absent or inconsistent with its targeting. */
  readonly options: ExperimentFlagOptions | null;
  /** Why `options` is `null` for a flag that exists. */
  readonly problem: string | null;
  /** The flag as it is in the file. */
  readonly flag: FlagdFlag | undefined;
}

/** A read of the flag file: its text and the parsed file, or why it could not be parsed. */
export type FlagFileSnapshot =
  | {
      readonly ok: true;
      /** The file's bytes as text; `""` when the file does not exist. */
      readonly text: string;
      readonly file: FlagFile;
      view(experiment: string): ExperimentFlagView;
    }
  | { readonly ok: false; readonly text: string; readonly problem: string };

/** What a {@link FlagFileStore.write} did. */
export type FlagWriteResult =
  | { readonly result: "ok"; readonly mark: FlagMark; readonly flag: FlagdFlag }
  /**
   * The flag (or the file) changed since `expected`: someone else wrote it. Nothing was written.
   * `flagChanged`: the experiment's own flag changed (not only another part of the file).
   */
  | { readonly result: "conflict"; readonly problem: string; readonly flagChanged: boolean }
  /** The file, or the file with the new flag, is not one flagd would load. Nothing was written. */
  | { readonly result: "invalid"; readonly problem: string }
  /** The fence said this process may no longer write. Nothing was written. */
  | { readonly result: "fenced" };

/** The routing an experiment flag encodes, as the promotion engine states it. */
export interface FlagRouting {
  readonly live: string;
  readonly rollout: { readonly variant: string; readonly basisPoints: number } | undefined;
  readonly candidates: readonly CandidateSample[];
  readonly stage: string;
}

/** Metadata keys `buildExperimentFlag` owns; every other key of a flag's metadata is kept on rewrite. */
const OWNED_METADATA = new Set([
  "managedBy",
  "experiment",
  "stage",
  "live",
  "candidates",
  "revision",
  "rollout",
  "rolloutBasisPoints",
  "specHash",
]);

/** sha256 of a flag's canonical JSON: equal flags, equal hashes, whatever their key order. */
export function flagSha256(flag: unknown): string {
  return createHash("sha256").update(canonicalJson(flag)).digest("hex");
}

/** The mark of a flag view: what a compare-and-swap against it expects. */
export function markOf(view: ExperimentFlagView): FlagMark {
  return { revision: view.revision, sha256: view.sha256 };
}

/** Whether a view is exactly the flag a mark describes. */
export function matchesMark(view: ExperimentFlagView, mark: FlagMark): boolean {
  return view.revision === mark.revision && view.sha256 === mark.sha256;
}

/** The routing fields of flag options or a routing, canonical, for equality. */
export function routingKey(r: {
  readonly live: string;
  readonly rollout?: { readonly variant: string; readonly basisPoints: number } | undefined;
  readonly candidates: readonly CandidateSample[];
}): string {
  return canonicalJson({
    live: r.live,
    rollout: r.rollout === undefined ? null : [r.rollout.variant, r.rollout.basisPoints],
    candidates: [...r.candidates]
      .map((c) => [c.variant, c.sampleBasisPoints])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  });
}

/**
 * The experiment flag the collector writes for a routing: `buildExperimentFlag`, plus every
 * metadata key of `previous` that the builder does not own (an owner, a ticket), so a human's
 * annotations survive a rewrite.
 */
export function buildManagedFlag(
  experiment: string,
  routing: FlagRouting,
  revision: number,
  specHash: string,
  previous: FlagdFlag | undefined,
): FlagdFlag {
  const flag = buildExperimentFlag({
    experiment,
    revision,
    specHash,
    live: routing.live,
    rollout: routing.rollout,
    candidates: routing.candidates,
    stage: routing.stage,
  });
  const kept: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(previous?.metadata ?? {})) {
    if (!OWNED_METADATA.has(k) && !k.startsWith("sample.")) kept[k] = v;
  }
  return { ...flag, metadata: { ...kept, ...flag.metadata } };
}

function viewOf(file: FlagFile, experiment: string): ExperimentFlagView {
  const key = experimentFlagKey(experiment);
  const flag = Object.hasOwn(file.flags, key) ? file.flags[key] : undefined;
  if (flag === undefined || flag === null || typeof flag !== "object") {
    return {
      key,
      exists: false,
      revision: 0,
      sha256: null,
      disabled: false,
      options: null,
      problem: null,
      flag: undefined,
    };
  }
  const revision = flag.metadata?.revision;
  let options: ExperimentFlagOptions | null = null;
  let problem: string | null = null;
  try {
    options = readExperimentFlag(key, flag);
  } catch (error) {
    problem = UmbraError.from(error).message;
  }
  return {
    key,
    exists: true,
    revision: typeof revision === "number" && Number.isInteger(revision) ? revision : 0,
    sha256: flagSha256(flag),
    disabled: flag.state === "DISABLED",
    options,
    problem,
    flag,
  };
}

function parse(text: string): FlagFileSnapshot {
  if (text === "") {
    const file = buildFlagFile({});
    return { ok: true, text, file, view: (experiment) => viewOf(file, experiment) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      text,
      problem: `is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  const flags = (value as { flags?: unknown } | null)?.flags;
  if (
    value === null ||
    typeof value !== "object" ||
    Array.isArray(value) ||
    flags === null ||
    typeof flags !== "object" ||
    Array.isArray(flags)
  ) {
    return { ok: false, text, problem: "must be an object with a `flags` object (the map form)" };
  }
  const file = value as FlagFile;
  return { ok: true, text, file, view: (experiment) => viewOf(file, experiment) };
}

/** Attempts of one write when other parts of the file keep changing under it. */
const WRITE_ATTEMPTS = 3;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/** Options of {@link FlagFileStore.write}. */
export interface FlagWriteOptions {
  readonly experiment: string;
  /** The flag the write replaces (compare-and-swap); `null`: whatever is there (a new experiment version). */
  readonly expected: FlagMark | null;
  /** The new flag, from the current one (its `revision` is the current one's + 1). */
  readonly build: (current: ExperimentFlagView) => FlagdFlag;
  /**
   * Asked right before the rename: may this process still write? (Does it still hold the
   * experiment's lease?) A `false` leaves the file untouched.
   */
  readonly fence: () => Promise<boolean>;
}

/**
 * The flagd flag file as the collector reads and writes it. A write is a compare-and-swap on
 * the experiment flag (its revision and content must be what the caller last saw), a validation
 * of the whole new file as flagd would load it (`assertValidFlagFile`), a temp file in the same
 * directory, a fence check, a last look that the file did not change meanwhile, and a rename.
 * Every other flag is carried over as it was parsed: the same keys, values and order.
 */
export class FlagFileStore {
  /** The flag file's absolute path. */
  readonly path: string;
  /** Writes of this process, one at a time: experiments sharing the file never race each other. */
  #writing: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** Reads and parses the file; a missing file reads as a file with no flags. */
  async read(): Promise<FlagFileSnapshot> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if (isMissing(error)) return parse("");
      return {
        ok: false,
        text: "",
        problem: `cannot be read (${error instanceof Error ? error.message : String(error)})`,
      };
    }
    return parse(text);
  }

  /**
   * Rewrites one experiment flag; see {@link FlagFileStore}. Never throws for a lost race. When
   * only other flags changed while the new version was prepared (another experiment, a human
   * editing another flag), it starts over from the new file, a few times.
   */
  write(options: FlagWriteOptions): Promise<FlagWriteResult> {
    const run = this.#writing.then(async () => {
      let result: FlagWriteResult = {
        result: "conflict",
        flagChanged: false,
        problem: "not attempted",
      };
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        result = await this.#writeOnce(options);
        if (result.result !== "conflict" || result.flagChanged) return result;
      }
      return result;
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }

  async #writeOnce(options: FlagWriteOptions): Promise<FlagWriteResult> {
    const snapshot = await this.read();
    if (!snapshot.ok) return { result: "invalid", problem: `${this.path} ${snapshot.problem}` };
    const current = snapshot.view(options.experiment);
    const { expected } = options;
    if (expected !== null && !matchesMark(current, expected)) {
      return {
        result: "conflict",
        flagChanged: true,
        problem: `${current.key} is at revision ${current.revision} (content ${current.sha256?.slice(0, 12) ?? "absent"}), not the revision ${expected.revision} (content ${expected.sha256?.slice(0, 12) ?? "absent"}) last written`,
      };
    }
    const flag = options.build(current);
    const next: FlagFile =
      snapshot.text === ""
        ? buildFlagFile({ [current.key]: flag })
        : { ...snapshot.file, flags: { ...snapshot.file.flags, [current.key]: flag } };
    try {
      assertValidFlagFile(next);
    } catch (error) {
      return { result: "invalid", problem: UmbraError.from(error).message };
    }
    const dir = dirname(this.path);
    const temp = join(
      dir,
      `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
    );
    let mode = 0o644;
    try {
      mode = (await stat(this.path)).mode & 0o777;
    } catch {
      // A new file gets the default mode.
    }
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(`${JSON.stringify(next, null, 2)}\n`, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    const drop = () => {
      try {
        unlinkSync(temp);
      } catch {
        // Already gone.
      }
    };
    try {
      if (!(await options.fence())) {
        drop();
        return { result: "fenced" };
      }
      // From the last look to the rename nothing yields to the event loop, so nothing in this
      // process interleaves; another process can only slip into this window of microseconds.
      let now: string;
      try {
        now = readFileSync(this.path, "utf8");
      } catch (error) {
        if (!isMissing(error)) throw error;
        now = "";
      }
      if (now !== snapshot.text) {
        drop();
        const flagChanged =
          expected !== null &&
          !(() => {
            const again = parse(now);
            return again.ok && matchesMark(again.view(options.experiment), expected);
          })();
        return {
          result: "conflict",
          flagChanged,
          problem: `${this.path} changed while the new version was prepared`,
        };
      }
      renameSync(temp, this.path);
    } catch (error) {
      drop();
      throw error;
    }
    const revision = flag.metadata?.revision;
    return {
      result: "ok",
      mark: { revision: typeof revision === "number" ? revision : 0, sha256: flagSha256(flag) },
      flag,
    };
  }
}
