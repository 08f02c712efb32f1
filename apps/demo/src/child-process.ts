import { type ChildProcess, spawn } from "node:child_process";
import { UmbraError } from "@umbra/protocol";

/** Options of {@link startChild}. */
export interface ChildOptions<T> {
  /** Who it is, in messages: `collector`, `variant A`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment of the child (nothing is inherited implicitly). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Looks at everything the child has printed so far; a value other than `undefined` means ready. */
  readonly ready: (output: string) => T | undefined;
  /** How long the child may take to become ready. Default 60 000 ms. */
  readonly readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
  /** Most characters of output kept (the tail); older output is dropped and counted. Default 262 144. */
  readonly maxOutputChars?: number;
}

/** A child process the demo started: its PID, what it printed, and how to stop it. */
export interface ChildHandle<T> {
  readonly name: string;
  readonly pid: number;
  /** What `ready` returned. */
  readonly value: T;
  /** Whether the process is still running. */
  running(): boolean;
  /** The tail of stdout and stderr, interleaved as received. */
  output(): string;
  /** Characters of output dropped from the front of the kept tail. */
  droppedOutputChars(): number;
  /** Resolves when the process has exited, with its code or signal. */
  readonly exited: Promise<ChildExit>;
  /**
   * Sends `signal` (default SIGTERM) unless the process has exited, waits up to `timeoutMs`
   * (default the child's `stopTimeoutMs`), then sends SIGKILL and waits for the exit.
   */
  stop(options?: {
    readonly signal?: NodeJS.Signals;
    readonly timeoutMs?: number;
  }): Promise<ChildExit>;
}

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the demo had to SIGKILL it. */
  readonly killed: boolean;
}

const alive = new Map<number, ChildProcess>();
let exitHookInstalled = false;

/**
 * Signals a child's whole process group: each child leads its own group, so a wrapper (such as
 * the `umbra-variant` bin, which runs the server as its own child) goes together with what it
 * started. Resolves false when nothing was left to signal.
 */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Whatever ends the demo (an exception, process.exit), no child outlives it.
  process.once("exit", () => {
    for (const pid of alive.keys()) signalGroup(pid, "SIGKILL");
  });
}

/** PIDs of the children started by {@link startChild} that have not exited yet. */
export function runningChildren(): number[] {
  return [...alive.keys()];
}

function settlesWithin<V>(promise: Promise<V>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts a child process and resolves once `ready` recognises its output. A child that exits
 * first, or is not ready within `readyTimeoutMs`, rejects with its last output in the message
 * (and is killed). Every child is killed with SIGKILL if the demo process exits without stopping
 * it.
 *
 * @example
 * ```ts
 * const variant = await startChild({
 *   name: "variant A", command: process.execPath, args: [bin, "--reference", "classifier"],
 *   env: { PATH: process.env.PATH ?? "" },
 *   ready: (out) => /listening on (\S+)/.exec(out)?.[1],
 * });
 * await variant.stop();
 * ```
 */
export async function startChild<T>(options: ChildOptions<T>): Promise<ChildHandle<T>> {
  installExitHook();
  const maxChars = options.maxOutputChars ?? 256 * 1024;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const child = spawn(options.command, [...options.args], {
    env: { ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a terminal's Ctrl-C reaches the demo alone, which then stops the
    // children in order, and a group kill leaves no grandchild behind.
    detached: true,
  });
  let output = "";
  let dropped = 0;
  let killed = false;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once("exit", (code, signal) => {
      if (child.pid !== undefined) {
        alive.delete(child.pid);
        // Anything the child left behind in its group goes with it.
        signalGroup(child.pid, "SIGKILL");
      }
      resolve({ code, signal, killed });
    });
  });
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once("spawn", () => resolve(child.pid ?? 0));
    child.once("error", (error) =>
      reject(
        new UmbraError("unavailable", `${options.name}: could not start: ${error.message}`, {
          cause: error,
        }),
      ),
    );
  });
  alive.set(spawned, child);

  let onOutput: (() => void) | undefined;
  const append = (chunk: string) => {
    output += chunk;
    if (output.length > maxChars) {
      dropped += output.length - maxChars;
      output = output.slice(output.length - maxChars);
    }
    onOutput?.();
  };
  child.stdout?.setEncoding("utf8").on("data", append);
  child.stderr?.setEncoding("utf8").on("data", append);

  const stop: ChildHandle<T>["stop"] = async (stopOptions = {}) => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup(spawned, stopOptions.signal ?? "SIGTERM");
      if (!(await settlesWithin(exited, stopOptions.timeoutMs ?? stopTimeoutMs))) {
        killed = true;
        signalGroup(spawned, "SIGKILL");
      }
    }
    return exited;
  };

  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  let value: T;
  try {
    value = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new UmbraError(
              "deadline_exceeded",
              `${options.name} was not ready within ${readyTimeoutMs} ms; its last output:\n${tail(output)}`,
            ),
          ),
        readyTimeoutMs,
      );
      const check = () => {
        let v: T | undefined;
        try {
          v = options.ready(output);
        } catch {
          v = undefined;
        }
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
        }
      };
      onOutput = check;
      check();
      void exited.then((exit) => {
        clearTimeout(timer);
        // Output that arrived with the exit may still hold the ready line.
        check();
        reject(
          new UmbraError(
            "unavailable",
            `${options.name} exited (${describeExit(exit)}) before it was ready; its last output:\n${tail(output)}`,
          ),
        );
      });
    });
  } catch (error) {
    await stop({ signal: "SIGKILL", timeoutMs: 5_000 });
    throw error;
  } finally {
    onOutput = undefined;
  }

  return {
    name: options.name,
    pid: spawned,
    value,
    running: () => child.exitCode === null && child.signalCode === null,
    output: () => output,
    droppedOutputChars: () => dropped,
    exited,
    stop,
  };
}

/** `exit code 1`, `signal SIGKILL`: how a child ended, in words. */
export function describeExit(exit: ChildExit): string {
  return exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
}

/** The last `lines` lines of some output, for error messages. */
export function tail(output: string, lines = 20): string {
  return output.trimEnd().split("\n").slice(-lines).join("\n");
}
