import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  type FlagSyncServer,
  serveFlagSync,
  type WatchedFlagFile,
  watchFlagFile,
} from "@umbra/proto";
import {
  buildExperimentFlag,
  buildFlagFile,
  type ExperimentFlagOptions,
  type FlagFile,
} from "@umbra/protocol";
import { createFlagFileFixture, type FlagFileFixture } from "@umbra/testing";

/** A flag file served over flagd.sync.v1, as the collector (or flagd) serves it in production. */
export interface ServedFlags {
  readonly fixture: FlagFileFixture<FlagFile>;
  readonly watched: WatchedFlagFile;
  readonly server: FlagSyncServer;
  /** Rewrites one experiment flag and waits until the sync server serves it. */
  set(options: ExperimentFlagOptions): Promise<void>;
  close(): Promise<void>;
}

/** Writes the experiments' flags to a real flag file and serves it over flagd.sync.v1. */
export async function serveFlags(
  experiments: readonly ExperimentFlagOptions[],
): Promise<ServedFlags> {
  const file = buildFlagFile(
    Object.fromEntries(experiments.map((e) => [`umbra.${e.experiment}`, buildExperimentFlag(e)])),
  );
  const fixture = await createFlagFileFixture(file);
  const watched = await watchFlagFile(fixture.path);
  const server = await serveFlagSync({ source: watched });
  return {
    fixture,
    watched,
    server,
    async set(options) {
      const flag = buildExperimentFlag(options);
      const served = new Promise<void>((resolve) => {
        const off = watched.subscribe((json) => {
          if (json.includes(`"revision":${options.revision}`)) {
            off();
            resolve();
          }
        });
      });
      await fixture.update((draft) => {
        draft.flags[`umbra.${options.experiment}`] = flag;
        return draft;
      });
      await served;
    },
    async close() {
      await server.close();
      watched.close();
      await fixture.close();
    },
  };
}

/** A variant server in a child process (killable), serving the test model as `model`. */
export async function startVariantProcess(): Promise<{
  readonly address: string;
  readonly child: ChildProcess;
  kill(): void;
}> {
  const entry = fileURLToPath(new URL("./variant-process.ts", import.meta.url));
  const child = spawn(process.execPath, ["--conditions=@umbra/source", "--import", "tsx", entry], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) =>
      reject(new Error(`variant process exited (${code}) before listening`)),
    );
  });
  return { address: `127.0.0.1:${port}`, child, kill: () => child.kill("SIGKILL") };
}
