import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { canonicalJson, type FlagFileProblem, UmbraError, validateFlagFile } from "@umbra/protocol";
import type { FlagConfigurationSource } from "./flag-sync-server.ts";

/** A flag file being watched: a {@link FlagConfigurationSource} that only ever serves valid files. */
export interface WatchedFlagFile extends FlagConfigurationSource {
  /** Files refused so far (invalid JSON or flags); the last good one keeps being served. */
  rejected(): number;
  /** Re-reads the file now (the watcher does this on every change by itself). */
  reload(): Promise<void>;
  close(): void;
}

/**
 * Watches a flagd flag file (its directory, so atomic renames are seen) and serves its content
 * when it changes. Every version is validated like a write (`validateFlagFile`); an invalid
 * version is refused, reported to `onRejected` with the problems, and the last valid one keeps
 * being served — flagd itself would refuse it too. The first read must be valid.
 */
export async function watchFlagFile(
  path: string,
  options: { readonly onRejected?: (problems: readonly FlagFileProblem[]) => void } = {},
): Promise<WatchedFlagFile> {
  let current: string | undefined;
  let canonical = "";
  let rejected = 0;
  const listeners = new Set<(configuration: string) => void>();
  const readValid = async (): Promise<{ text: string; canon: string } | FlagFileProblem[]> => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      return [
        { flag: undefined, path: "(file)", rule: `cannot be read (${(error as Error).message})` },
      ];
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return [
        {
          flag: undefined,
          path: "(file)",
          rule: `is not valid JSON (${(error as Error).message})`,
        },
      ];
    }
    const problems = validateFlagFile(value);
    return problems.length > 0
      ? problems
      : { text: JSON.stringify(value), canon: canonicalJson(value) };
  };
  const first = await readValid();
  if (Array.isArray(first)) {
    throw UmbraError.invalid(
      path,
      first
        .map((p) => `${p.flag === undefined ? "" : `flag "${p.flag}" `}${p.path}: ${p.rule}`)
        .join("; "),
    );
  }
  current = first.text;
  canonical = first.canon;

  let reading: Promise<void> = Promise.resolve();
  const reload = () => {
    reading = reading.then(async () => {
      const next = await readValid();
      if (Array.isArray(next)) {
        // A missing file mid-rename is not a rejection; the rename's own event follows.
        if (next[0]?.rule.startsWith("cannot be read")) return;
        rejected++;
        options.onRejected?.(next);
        return;
      }
      if (next.canon === canonical) return;
      current = next.text;
      canonical = next.canon;
      for (const listener of listeners) listener(next.text);
    });
    return reading;
  };

  const name = basename(path);
  let debounce: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, file) => {
    if (file !== null && file !== name) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), 5);
  });

  return {
    current: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    rejected: () => rejected,
    reload,
    close() {
      clearTimeout(debounce);
      watcher.close();
      listeners.clear();
    },
  };
}
