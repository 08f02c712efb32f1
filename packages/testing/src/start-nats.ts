import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UmbraError, UmbraErrorCode } from "@umbra/protocol";
import { killOnExit, releaseDir, releasePid, removeOnExit } from "./internal/exit-cleanup.ts";
import { freePort, RESERVED_NATS_PORT } from "./internal/free-port.ts";
import { LineTail } from "./internal/line-tail.ts";
import { resolveNatsBinary } from "./internal/nats-binary.ts";
import { readNatsInfo } from "./internal/nats-info.ts";

/** Options of {@link startNats}. Every field is optional. */
export interface StartNatsOptions {
  /** Path of the `nats-server` binary. Default: `$UMBRA_NATS_SERVER`, then PATH, then `/usr/sbin/nats-server`. */
  readonly binary?: string;
  /** Whether to enable JetStream (`-js`). Default `true`. */
  readonly jetstream?: boolean;
  /**
   * Extra `nats-server` arguments, appended after the kit's own. They may not set the address,
   * port, store dir or server name, which the kit owns.
   */
  readonly args?: readonly string[];
  /** How long to wait for the server to accept clients, per start. Default 10 000 ms. */
  readonly readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before sending SIGKILL. Default 5 000 ms. */
  readonly stopTimeoutMs?: number;
  /** How many fresh ports to try when another process takes the chosen one first. Default 3. */
  readonly portAttempts?: number;
}

/**
 * A private `nats-server` started by {@link startNats}: its own port on 127.0.0.1, its own
 * JetStream store in a temp dir, stopped by its own PID.
 */
export interface NatsServer extends AsyncDisposable {
  /** The client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** The client port; never 4222, and the same across `restart()`. */
  readonly port: number;
  /** The PID of the running server process; it changes on `restart()`. */
  readonly pid: number;
  /** The JetStream store directory; the same across `restart()`, removed by `stop()`. */
  readonly storeDir: string;
  /** Whether the server process is running. */
  readonly running: boolean;
  /** The last lines the server printed, for diagnosing a failing test. */
  logTail(): string;
  /** Stops the server (SIGTERM, then SIGKILL after `stopTimeoutMs`) and removes the store dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the server process and starts it again on the same port with the same store, so
   * streams and their messages survive: the way to stage a NATS outage in a test. `whileDown`
   * runs after the old process has exited and before the new one starts, to act during the
   * outage (publish into the void, check that buffers stay bounded).
   */
  restart(options?: RestartNatsOptions): Promise<void>;
}

/** Options of {@link NatsServer.restart}. */
export interface RestartNatsOptions {
  /** Runs while the server is down; the restart waits for it. */
  readonly whileDown?: () => unknown;
}

const DEFAULT_READY_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const DEFAULT_PORT_ATTEMPTS = 3;
const POLL_INTERVAL_MS = 20;
const LOG_TAIL_LINES = 200;
const OWNED_FLAGS = new Set([
  "-a",
  "--addr",
  "--net",
  "-p",
  "--port",
  "-sd",
  "--store_dir",
  "-n",
  "--name",
  "--server_name",
]);

/**
 * Starts a private `nats-server` with JetStream on a free port of 127.0.0.1 and a temp store
 * dir, and resolves once it accepts clients (polled with a deadline, never a fixed sleep). The
 * server is killed by its PID on `stop()`, on `await using` disposal, and — as a last resort —
 * when the test process exits. It never uses or touches port 4222.
 *
 * @example
 * ```ts
 * await using nats = await startNats();
 * const nc = await connectNats(nats.url);
 * ```
 */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  const readyTimeoutMs = positive(
    "readyTimeoutMs",
    options.readyTimeoutMs,
    DEFAULT_READY_TIMEOUT_MS,
  );
  const stopTimeoutMs = positive("stopTimeoutMs", options.stopTimeoutMs, DEFAULT_STOP_TIMEOUT_MS);
  const portAttempts = positive("portAttempts", options.portAttempts, DEFAULT_PORT_ATTEMPTS);
  const extraArgs = options.args ?? [];
  extraArgs.forEach((arg, i) => {
    if (OWNED_FLAGS.has(arg.split("=")[0] ?? arg)) {
      throw UmbraError.invalid(
        `args[${i}]`,
        `must not set the address, port, store dir or server name (got ${JSON.stringify(arg)}): startNats owns them`,
      );
    }
  });
  const binary = resolveNatsBinary(options.binary);
  const storeDir = mkdtempSync(join(tmpdir(), "umbra-nats-"));
  removeOnExit(storeDir);
  const server = new PrivateNatsServer({
    binary,
    jetstream: options.jetstream ?? true,
    extraArgs,
    storeDir,
    readyTimeoutMs,
    stopTimeoutMs,
  });
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        await server.launch(port);
        return server;
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= portAttempts) throw error;
      }
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
}

function positive(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw UmbraError.invalid(field, `must be a positive number (got ${value})`);
  }
  return value;
}

/** The port was taken between choosing it and the server binding it. */
class PortTakenError extends UmbraError {}

interface ServerConfig {
  readonly binary: string;
  readonly jetstream: boolean;
  readonly extraArgs: readonly string[];
  readonly storeDir: string;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
}

class PrivateNatsServer implements NatsServer {
  readonly #config: ServerConfig;
  readonly #log = new LineTail(LOG_TAIL_LINES);
  #port = 0;
  #process: RunningProcess | undefined;
  #stopped = false;
  // stop() and restart() run one at a time so a test cannot interleave them into a leaked PID.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: ServerConfig) {
    this.#config = config;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get pid(): number {
    return this.#process?.pid ?? 0;
  }

  get storeDir(): string {
    return this.#config.storeDir;
  }

  get running(): boolean {
    return this.#process !== undefined && this.#process.child.exitCode === null;
  }

  logTail(): string {
    return this.#log.text();
  }

  stop(): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) return;
      this.#stopped = true;
      await this.#terminate();
      rmSync(this.#config.storeDir, { recursive: true, force: true });
      releaseDir(this.#config.storeDir);
    });
  }

  restart(options: RestartNatsOptions = {}): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) {
        throw new UmbraError(UmbraErrorCode.Cancelled, "restart: the server was stopped");
      }
      await this.#terminate();
      await options.whileDown?.();
      // The old process has exited, so the port is free unless another process took it; keep
      // trying on the same port until the deadline rather than moving the server elsewhere.
      const deadline = performance.now() + this.#config.readyTimeoutMs;
      for (;;) {
        try {
          await this.#launchOnce(this.#port, deadline);
          return;
        } catch (error) {
          if (!(error instanceof PortTakenError) || performance.now() >= deadline) throw error;
          await pause(POLL_INTERVAL_MS);
        }
      }
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Starts the process on `port` and waits until it is ready. */
  launch(port: number): Promise<void> {
    return this.#launchOnce(port, performance.now() + this.#config.readyTimeoutMs);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(task, task);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #launchOnce(port: number, deadline: number): Promise<void> {
    if (port === RESERVED_NATS_PORT) {
      throw UmbraError.invalid(
        "port",
        `must not be ${RESERVED_NATS_PORT}, which belongs to the machine's own NATS`,
      );
    }
    this.#port = port;
    const serverName = `umbra-test-${process.pid}-${randomBytes(4).toString("hex")}`;
    const args = [
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-n",
      serverName,
      ...(this.#config.jetstream ? ["-js", "-sd", this.#config.storeDir] : []),
      ...this.#config.extraArgs,
    ];
    const child = spawn(this.#config.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    const spawned = await new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid ?? 0));
      child.once("error", reject);
    }).catch((error: unknown) => {
      throw new UmbraError(
        UmbraErrorCode.Unavailable,
        `could not spawn ${this.#config.binary}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    });
    killOnExit(spawned);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    void exited.then(() => releasePid(spawned));
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => this.#log.push(chunk));
      // A forgotten server must not keep the test process alive; the exit hook then kills it.
      (stream as { unref?: () => void } | null)?.unref?.();
    }
    child.unref();
    this.#process = { child, pid: spawned, exited };

    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = this.logTail();
        const message = `nats-server exited during startup (code ${child.exitCode}, signal ${child.signalCode}) on port ${port}; last output:\n${log}`;
        if (/address already in use/i.test(log)) {
          throw new PortTakenError(UmbraErrorCode.Unavailable, message);
        }
        throw new UmbraError(UmbraErrorCode.Unavailable, message);
      }
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0) {
        await this.#terminate();
        throw new UmbraError(
          UmbraErrorCode.DeadlineExceeded,
          `nats-server on port ${port} was not ready within ${this.#config.readyTimeoutMs} ms; last output:\n${this.logTail()}`,
        );
      }
      const info = await readNatsInfo(port, Math.min(remainingMs, 1_000));
      // The name check proves the INFO came from our process, not from one that took the port.
      if (
        info?.server_name === serverName &&
        (!this.#config.jetstream || info.jetstream === true)
      ) {
        return;
      }
      if (info === undefined) await pause(Math.min(POLL_INTERVAL_MS, Math.max(0, remainingMs)));
      else await pause(POLL_INTERVAL_MS);
    }
  }

  /** Stops the current process, if any, by its PID and waits until it has exited. */
  async #terminate(): Promise<void> {
    const running = this.#process;
    if (running === undefined) return;
    const { child, exited } = running;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      if (!(await settlesWithin(exited, this.#config.stopTimeoutMs))) {
        child.kill("SIGKILL");
        if (!(await settlesWithin(exited, this.#config.stopTimeoutMs))) {
          throw new UmbraError(
            UmbraErrorCode.DeadlineExceeded,
            `nats-server (pid ${running.pid}) did not exit after SIGKILL within ${this.#config.stopTimeoutMs} ms`,
          );
        }
      }
    }
    await exited;
    releasePid(running.pid);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function settlesWithin(promise: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
