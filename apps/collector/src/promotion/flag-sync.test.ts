// The collector's flagd.sync.v1 endpoint against a real flag file, read with a plain gRPC client.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import type { NatsConnection } from "@nats-io/transport-node";
import { type FetchAllFlagsResponse, loadProtos } from "@umbra/proto";
import { buildFlagFile, type FlagdFlag, validateFlagFile } from "@umbra/protocol";
import { connectNats, type NatsServer, startNats, waitFor, writeFlagFile } from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { type Collector, createCollector } from "../create-collector.ts";

let nats: NatsServer;
let nc: NatsConnection;
let dir: string;
let collector: Collector;
let client: Client & {
  FetchAllFlags(
    request: object,
    callback: (error: Error | null, response?: FetchAllFlagsResponse) => void,
  ): void;
};

const flag = (on: boolean): FlagdFlag => ({
  state: "ENABLED",
  variants: { on: true, off: false },
  defaultVariant: on ? "on" : "off",
});

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats(nats.url);
  dir = await mkdtemp(join(tmpdir(), "umbra-sync-"));
  collector = createCollector({
    nc,
    config: loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "sync",
      UMBRA_LOG_LEVEL: "silent",
      // No such file yet: the collector creates an empty one.
      UMBRA_FLAG_FILE: join(dir, "flags.flagd.json"),
      UMBRA_FLAG_SYNC_PORT: "0",
    }),
  });
  await collector.start();
  const Constructor = makeGenericClientConstructor(
    loadProtos().flagSync as never,
    "FlagSyncService",
  );
  client = new Constructor(
    collector.flagSyncAddress() ?? "",
    credentials.createInsecure(),
  ) as unknown as typeof client;
});

afterAll(async () => {
  client?.close();
  await collector?.close();
  await nc?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

function fetchAll(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) =>
    client.FetchAllFlags({}, (error, response) =>
      error === null && response !== undefined
        ? resolve(
            (JSON.parse(response.flag_configuration) as { flags: Record<string, unknown> }).flags,
          )
        : reject(error),
    ),
  );
}

async function rejectedVersions(): Promise<number> {
  const { text } = await collector.metricsText();
  return Number(/umbra_collector_flag_file_rejected_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe("the flagd.sync.v1 endpoint", () => {
  it("creates a missing flag file, serves each valid version, and keeps serving the last good one when a version is invalid", async () => {
    const path = join(dir, "flags.flagd.json");
    expect(validateFlagFile(JSON.parse(await readFile(path, "utf8")))).toEqual([]);
    expect(await fetchAll()).toEqual({});

    await writeFlagFile(dir, buildFlagFile({ checkout: flag(true) }));
    await waitFor(async () => "checkout" in (await fetchAll()), {
      message: "the new version served",
    });

    // A broken hand edit: flagd would refuse it too.
    await writeFile(path, '{ "flags": { "checkout": { "state": "MAYBE" } } ');
    await waitFor(async () => (await rejectedVersions()) >= 1, {
      message: "the invalid version counted",
    });
    expect(await fetchAll()).toEqual({ checkout: flag(true) });

    await writeFlagFile(dir, buildFlagFile({ checkout: flag(false) }));
    await waitFor(
      async () => ((await fetchAll()).checkout as FlagdFlag | undefined)?.defaultVariant === "off",
      { message: "the fixed version served" },
    );
    expect(collector.health().flagSync).toBe(collector.flagSyncAddress());
  });
});
