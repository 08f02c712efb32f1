// Runs the collector as a real child process, the way an operator runs it:
//   node --conditions=@umbra/source --import tsx apps/collector/src/main.ts
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { UmbraError, UmbraErrorCode } from "@umbra/protocol";

const MAIN = fileURLToPath(new URL("../apps/collector/src/main.ts", import.meta.url));
const running = new Set<ChildProcess>();

// A test that fails half way must not leave collectors behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** A collector child process. */
export interface CollectorProcess {
  /** The HTTP API's base URL. */
  readonly url: string;
  readonly pid: number;
  /** Everything the process wrote to stderr (pino JSON lines). */
  log(): string;
  /** Sends SIGKILL and waits until the process is gone. */
  kill(): Promise<void>;
  /** Sends SIGTERM and resolves the exit code once it has exited. */
  stop(): Promise<number | null>;
}

/** Options of {@link startCollectorProcess}. */
export interface StartCollectorOptions {
  readonly natsUrl: string;
  readonly replicaId: string;
  /** More `UMBRA_*` variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for "listening". Default 30 000 ms. */
  readonly readyTimeoutMs?: number;
}

/** Starts `apps/collector/src/main.ts` on a free HTTP port and resolves once it listens. */
export async function startCollectorProcess(
  options: StartCollectorOptions,
): Promise<CollectorProcess> {
  const child = spawn(process.execPath, ["--conditions=@umbra/source", "--import", "tsx", MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      UMBRA_NATS_URL: options.natsUrl,
      UMBRA_REPLICA_ID: options.replicaId,
      UMBRA_HTTP_PORT: "0",
      UMBRA_LOG_LEVEL: "info",
      ...options.env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new UmbraError(
          UmbraErrorCode.DeadlineExceeded,
          `collector ${options.replicaId} did not listen within ${options.readyTimeoutMs ?? 30_000} ms:\n${log}`,
        ),
      );
    }, options.readyTimeoutMs ?? 30_000);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      log += chunk;
      for (const line of chunk.split("\n")) {
        if (!line.includes('"listening"')) continue;
        try {
          const parsed = JSON.parse(line) as { url?: string };
          if (parsed.url !== undefined) {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        } catch {
          // A partial line; the rest arrives with the next chunk.
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new UmbraError(
          UmbraErrorCode.Unavailable,
          `collector ${options.replicaId} exited with ${code} before listening:\n${log}`,
        ),
      );
    });
  });
  return {
    url,
    pid: child.pid ?? 0,
    log: () => log,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
