import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type FlagSyncServer,
  serveFlagSync,
  type WatchedFlagFile,
  watchFlagFile,
} from "@umbra/proto";
import type { ExperimentSpec } from "@umbra/protocol";
import { type NatsServer, startNats, writeFlagFile } from "@umbra/testing";
import { type ChildHandle, startChild } from "./child-process.ts";
import { type CollectorApi, createCollectorApi } from "./collector-api.ts";
import {
  buildDemoFlagFile,
  buildDemoSpec,
  COMMON_VARIANT_ARGS,
  DEMO_EXPERIMENT,
  DEMO_MODEL,
  DEMO_VARIANTS,
} from "./demo-experiment.ts";

/** The repository root, where the demo finds the collector, the CLI and `umbra-variant`. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const NODE_TS = ["--conditions=@umbra/source", "--import", "tsx"];

/** Everything the demo runs, started and ready. */
export interface DemoStack {
  readonly dir: string;
  readonly nats: NatsServer;
  readonly variants: Readonly<Record<string, ChildHandle<string>>>;
  readonly collector: ChildHandle<CollectorListening>;
  /** The collector's HTTP API. */
  readonly api: CollectorApi;
  readonly servingApp: ChildHandle<string>;
  readonly spec: ExperimentSpec;
  readonly flagFile: string;
  /** Who serves the flag file over flagd.sync.v1: the collector, or the demo itself. */
  readonly flagSource: { readonly by: "collector" | "demo"; readonly address: string };
  /** The token the collector requires on mutating calls. */
  readonly adminToken: string;
  /** Every child process, for status and leak checks. */
  children(): ChildHandle<unknown>[];
  /** Stops everything, serving app first (its last records reach NATS), NATS last. */
  close(options?: { readonly fast?: boolean }): Promise<void>;
}

/** Options of {@link startDemoStack}. */
export interface DemoStackOptions {
  /** Called with a line for each step, in the order things start. */
  readonly log: (line: string) => void;
}

/** What the collector's "listening" log line says. */
export interface CollectorListening {
  /** The HTTP API's base URL. */
  readonly url: string;
  /** `host:port` of its flagd.sync.v1 endpoint; `undefined` when it serves none (no promotion). */
  readonly flagSync: string | undefined;
}

/** Finds the collector's "listening" line among its pino JSON lines. */
export function listeningLine(output: string): CollectorListening | undefined {
  for (const line of output.split("\n")) {
    if (!line.includes('"listening"')) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: unknown; url?: unknown; flagSync?: unknown };
      if (parsed.msg !== "listening" || typeof parsed.url !== "string") continue;
      return {
        url: parsed.url,
        flagSync: typeof parsed.flagSync === "string" ? parsed.flagSync : undefined,
      };
    } catch {
      // A line still being written; the rest comes with the next chunk.
    }
  }
  return undefined;
}

function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
}

function firstMatch(pattern: RegExp): (output: string) => string | undefined {
  return (output) => pattern.exec(output)?.[1];
}

/**
 * Starts the demo's stack: a private nats-server, the four model servers (`umbra-variant`
 * processes), the collector (a child process configured by environment), the flag file and its
 * flagd.sync.v1 endpoint, and the serving app (a child process using the SDK). The experiment
 * spec is built but not registered: the caller registers it once the stack is warm. On failure
 * everything already started is stopped.
 */
export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const { log } = options;
  const dir = await mkdtemp(join(tmpdir(), "umbra-demo-"));
  const adminToken = randomBytes(16).toString("hex");
  const started: ChildHandle<unknown>[] = [];
  let nats: NatsServer | undefined;
  let watched: WatchedFlagFile | undefined;
  let flagSync: FlagSyncServer | undefined;

  const close: DemoStack["close"] = async ({ fast = false } = {}) => {
    const timeoutMs = fast ? 3_000 : 15_000;
    const byName = (prefix: string) => started.filter((c) => c.name.startsWith(prefix));
    // Serving app first: its last pair records must still find NATS and the collector.
    await Promise.all(byName("serving app").map((c) => c.stop({ timeoutMs })));
    await Promise.all(byName("collector").map((c) => c.stop({ timeoutMs })));
    await flagSync?.close();
    watched?.close();
    await Promise.all(byName("variant").map((c) => c.stop({ timeoutMs })));
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    nats = await startNats();
    log(`nats-server      pid ${nats.pid}  ${nats.url} (JetStream, private)`);

    const bin = join(REPO_ROOT, "packages/variant/bin/umbra-variant.mjs");
    const variantList = await Promise.all(
      DEMO_VARIANTS.map(async (v) => {
        const child = await startChild({
          name: `variant ${v.name}`,
          command: process.execPath,
          args: [bin, ...COMMON_VARIANT_ARGS, ...v.knobs],
          env: baseEnv(),
          cwd: REPO_ROOT,
          ready: firstMatch(/umbra-variant listening on (\S+)/),
        });
        started.push(child);
        return [v, child] as const;
      }),
    );
    const variants: Record<string, ChildHandle<string>> = {};
    for (const [v, child] of variantList) {
      variants[v.name] = child;
      log(`variant ${v.name.padEnd(8)} pid ${child.pid}  ${child.value}  ${v.role}`);
    }

    const spec = buildDemoSpec(Object.fromEntries(variantList.map(([v, c]) => [v.name, c.value])));
    const flagFile = await writeFlagFile(dir, buildDemoFlagFile(spec));
    log(`flag file        ${flagFile}`);

    const collector = await startChild({
      name: "collector",
      command: process.execPath,
      args: [...NODE_TS, join(REPO_ROOT, "apps/collector/src/main.ts")],
      env: {
        ...baseEnv(),
        UMBRA_NATS_URL: nats.url,
        UMBRA_HTTP_PORT: "0",
        UMBRA_REPLICA_ID: "demo",
        UMBRA_LOG_LEVEL: "info",
        UMBRA_CHECKPOINT_INTERVAL_MS: "500",
        UMBRA_DISCOVERY_INTERVAL_MS: "500",
        // The collector rewrites this file as it promotes and serves it over flagd.sync.v1.
        UMBRA_FLAG_FILE: flagFile,
        UMBRA_FLAG_SYNC_PORT: "0",
        UMBRA_ADMIN_TOKEN: adminToken,
        UMBRA_DECISION_TICK_MS: "1000",
      },
      cwd: REPO_ROOT,
      ready: listeningLine,
    });
    started.push(collector);
    log(`collector        pid ${collector.pid}  ${collector.value.url}`);
    const api = createCollectorApi(collector.value.url, adminToken);

    let flagSource: DemoStack["flagSource"];
    if (collector.value.flagSync !== undefined) {
      flagSource = { by: "collector", address: collector.value.flagSync };
    } else {
      // A collector without promotion neither writes nor serves the flag: serve it from here,
      // so the SDK still runs its in-process flagd path.
      watched = await watchFlagFile(flagFile);
      flagSync = await serveFlagSync({ source: watched, host: "127.0.0.1", port: 0 });
      flagSource = { by: "demo", address: flagSync.address };
    }
    log(`flag sync        ${flagSource.address} (flagd.sync.v1, served by the ${flagSource.by})`);

    const servingApp = await startChild({
      name: "serving app",
      command: process.execPath,
      args: [...NODE_TS, join(REPO_ROOT, "apps/demo/src/serving-main.ts")],
      env: {
        ...baseEnv(),
        UMBRA_EXPERIMENT: DEMO_EXPERIMENT,
        UMBRA_NATS_URL: nats.url,
        UMBRA_FLAGD_ADDRESS: flagSource.address,
        UMBRA_VARIANTS: variantList.map(([v, c]) => `${v.name}=${c.value}`).join(","),
        UMBRA_MODEL: DEMO_MODEL,
        UMBRA_DEFAULT_VARIANT: "prod",
        UMBRA_HTTP_PORT: "0",
      },
      cwd: REPO_ROOT,
      ready: firstMatch(/serving app listening on (\S+)/),
    });
    started.push(servingApp);
    log(
      `serving app      pid ${servingApp.pid}  ${servingApp.value} (SDK, flags from ${flagSource.address})`,
    );

    return {
      dir,
      nats,
      variants,
      collector,
      api,
      servingApp,
      spec,
      flagFile,
      flagSource,
      adminToken,
      children: () => [...started],
      close,
    };
  } catch (error) {
    await close({ fast: true });
    throw error;
  }
}
