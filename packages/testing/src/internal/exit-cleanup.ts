import { rmSync } from "node:fs";

/**
 * What must not outlive the test process: child PIDs to kill and temp directories to remove.
 * Registered by the kit's own resources and released by their `stop()`/`close()`.
 */
const pids = new Set<number>();
const dirs = new Set<string>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers must be synchronous: SIGKILL cannot be caught, so a server never survives a
  // test process that forgot (or did not get the chance) to stop it.
  process.on("exit", () => {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Best effort at exit; nothing left to report to.
      }
    }
  });
}

/** Kills `pid` with SIGKILL when the test process exits, unless released first. */
export function killOnExit(pid: number): void {
  hook();
  pids.add(pid);
}

/** Forgets `pid`: its owner has seen it exit. */
export function releasePid(pid: number): void {
  pids.delete(pid);
}

/** Removes `dir` when the test process exits, unless released first. */
export function removeOnExit(dir: string): void {
  hook();
  dirs.add(dir);
}

/** Forgets `dir`: its owner has removed it. */
export function releaseDir(dir: string): void {
  dirs.delete(dir);
}

/** The PIDs the exit hook would kill right now (for tests of the kit itself). */
export function trackedPids(): readonly number[] {
  return [...pids];
}
