import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { UmbraError, UmbraErrorCode } from "@umbra/protocol";
import { releaseDir, removeOnExit } from "./internal/exit-cleanup.ts";

/**
 * The least a flagd flag file must have for the fixture to write it: a `flags` object. The
 * flag builder and the full schema live in `@umbra/protocol`; the fixture takes a ready object.
 */
export interface FlagFileLike {
  readonly flags: object;
}

/** The file name {@link writeFlagFile} and {@link createFlagFileFixture} use by default. */
export const DEFAULT_FLAG_FILE_NAME = "flags.flagd.json";

/**
 * Writes `flagFile` as JSON to `dir/fileName` atomically: a temp file in the same directory,
 * then a rename, so a watcher (flagd, the provider's file mode, the collector's sync server)
 * never reads half a file. Resolves the path written.
 *
 * @example
 * ```ts
 * const path = await writeFlagFile(dir, { flags: {} });
 * ```
 */
export async function writeFlagFile(
  dir: string,
  flagFile: FlagFileLike,
  fileName: string = DEFAULT_FLAG_FILE_NAME,
): Promise<string> {
  if (fileName === "" || basename(fileName) !== fileName) {
    throw UmbraError.invalid(
      "fileName",
      `must be a plain file name without a directory (got ${JSON.stringify(fileName)})`,
    );
  }
  const json = serialize(flagFile);
  const path = join(dir, fileName);
  const temp = join(dir, `.${fileName}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, json, { flag: "wx" });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return path;
}

function serialize(flagFile: FlagFileLike): string {
  if (typeof flagFile !== "object" || flagFile === null || Array.isArray(flagFile)) {
    throw UmbraError.invalid("flagFile", "must be an object with a `flags` object");
  }
  const flags: unknown = flagFile.flags;
  if (typeof flags !== "object" || flags === null || Array.isArray(flags)) {
    // flagd's array form of `flags` is not portable (the JS evaluator reads it as one flag "0").
    throw UmbraError.invalid("flagFile.flags", "must be an object keyed by flag name");
  }
  try {
    return `${JSON.stringify(flagFile, null, 2)}\n`;
  } catch (error) {
    throw UmbraError.invalid("flagFile", "must be JSON-serialisable", error);
  }
}

/** A flag file in its own temp directory, made by {@link createFlagFileFixture}. */
export interface FlagFileFixture<T extends FlagFileLike> extends AsyncDisposable {
  /** The temp directory holding the file. */
  readonly dir: string;
  /** The flag file's path. */
  readonly path: string;
  /** How many times the file has been written, the first write included. */
  readonly writes: number;
  /** The object last written (a copy; changing it changes nothing on disk). */
  current(): T;
  /** Reads and parses the file as it is on disk now (it may have been changed by someone else). */
  read(): Promise<unknown>;
  /** Replaces the whole file atomically. */
  write(next: T): Promise<void>;
  /**
   * Rewrites the file atomically from the last written object: `change` gets a copy and either
   * returns the next object or changes the copy in place. Updates run one at a time.
   */
  update(change: (draft: T) => T | undefined): Promise<T>;
  /** Removes the temp directory. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createFlagFileFixture}. */
export interface FlagFileFixtureOptions {
  /** The file name inside the temp dir. Default {@link DEFAULT_FLAG_FILE_NAME}. */
  readonly fileName?: string;
}

/**
 * Creates a temp directory, writes `initial` into it as a flagd flag file, and returns the
 * fixture. Close it (or `await using` it) to remove the directory; the test process removes it
 * at exit otherwise.
 *
 * @example
 * ```ts
 * await using flags = await createFlagFileFixture({ flags: { "umbra.ranker": rankerFlag } });
 * await flags.update((f) => { f.flags["umbra.ranker"].state = "DISABLED"; });
 * ```
 */
export async function createFlagFileFixture<T extends FlagFileLike>(
  initial: T,
  options: FlagFileFixtureOptions = {},
): Promise<FlagFileFixture<T>> {
  const fileName = options.fileName ?? DEFAULT_FLAG_FILE_NAME;
  serialize(initial);
  const dir = await mkdtemp(join(tmpdir(), "umbra-flags-"));
  removeOnExit(dir);
  let current = clone(initial);
  let writes = 0;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  const path = join(dir, fileName);

  const serial = <R>(task: () => Promise<R>): Promise<R> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };
  const assertOpen = () => {
    if (closed)
      throw new UmbraError(UmbraErrorCode.Cancelled, `flag file fixture ${dir} is closed`);
  };
  const persist = async (next: T) => {
    await writeFlagFile(dirname(path), next, fileName);
    current = clone(next);
    writes += 1;
  };

  await persist(initial);

  const close = () =>
    serial(async () => {
      if (closed) return;
      closed = true;
      await rm(dir, { recursive: true, force: true });
      releaseDir(dir);
    });

  return {
    dir,
    path,
    get writes() {
      return writes;
    },
    current: () => clone(current),
    read: async () => JSON.parse(await readFile(path, "utf8")) as unknown,
    write: (next) =>
      serial(async () => {
        assertOpen();
        await persist(next);
      }),
    update: (change) =>
      serial(async () => {
        assertOpen();
        const draft = clone(current);
        const next = change(draft) ?? draft;
        await persist(next);
        return clone(next);
      }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
