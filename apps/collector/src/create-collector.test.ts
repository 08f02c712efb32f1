import type { NatsConnection } from "@nats-io/transport-node";
import { encodePair, pairMessageId, Subjects } from "@umbra/protocol";
import {
  connectJetStream,
  connectNats,
  generatePairRecords,
  type JetStreamConnection,
  type NatsServer,
  startNats,
  waitFor,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointStore } from "./checkpoint/checkpoint-store.ts";
import { openBuckets } from "./checkpoint/open-buckets.ts";
import { loadConfig } from "./config.ts";
import { createCollector } from "./create-collector.ts";

let nats: NatsServer;
let conn: JetStreamConnection;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  conn = await connectJetStream(nats.url);
  nc = await connectNats(nats.url);
});

afterAll(async () => {
  await nc?.close();
  await conn?.close();
  await nats?.stop();
});

describe("createCollector", () => {
  it("aggregates every published pair once and checkpoints the position", async () => {
    const config = loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "r1",
      UMBRA_CHECKPOINT_INTERVAL_MS: "50",
      UMBRA_LEASE_TTL_MS: "1000",
      UMBRA_DISCOVERY_INTERVAL_MS: "50",
      UMBRA_LOG_LEVEL: "silent",
    });
    const collector = createCollector({ nc, config });
    await collector.start();
    try {
      const records = [...generatePairRecords({ seed: 1, count: 300, experiment: "ranker" })];
      for (const r of records) {
        await conn.js.publish(Subjects.pairs(r.experiment, r.variant), encodePair(r), {
          msgID: pairMessageId(r.experiment, r.requestId, r.variant),
        });
      }
      const report = await waitFor(
        async () => {
          const r = await collector.report("ranker").catch(() => undefined);
          return r !== undefined && r.counts.pairs === 300 ? r : undefined;
        },
        { timeoutMs: 10_000, message: "300 pairs aggregated" },
      );
      expect(report.positions.pairs).toBe(300);
    } finally {
      await collector.close();
    }
  });

  it("never overwrites a checkpoint another writer moved on, and resumes from that one", async () => {
    const config = loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "fenced",
      UMBRA_CHECKPOINT_INTERVAL_MS: "50",
      UMBRA_LEASE_TTL_MS: "1000",
      UMBRA_DISCOVERY_INTERVAL_MS: "50",
      UMBRA_LOG_LEVEL: "silent",
    });
    const collector = createCollector({ nc, config });
    await collector.start();
    const publish = async (seed: number, count: number) => {
      for (const r of generatePairRecords({ seed, count, experiment: "fenced" })) {
        const requestId = `${seed}-${r.requestId}`;
        await conn.js.publish(
          Subjects.pairs(r.experiment, r.variant),
          encodePair({ ...r, requestId }),
          {
            msgID: pairMessageId(r.experiment, requestId, r.variant),
          },
        );
      }
    };
    try {
      await publish(1, 100);
      const store = new CheckpointStore(
        (await openBuckets(nc, { leaseTtlMs: 1_000, replicas: 1 })).checkpoints,
        { maxPayloadBytes: 1_048_576 },
      );
      const first = await waitFor(
        async () => {
          const c = await store.read("fenced");
          return c !== undefined &&
            (JSON.parse(c.json) as { counts: { pairs: number } }).counts.pairs === 100
            ? c
            : undefined;
        },
        { timeoutMs: 10_000, message: "a checkpoint of 100 pairs" },
      );
      // Another writer moves the checkpoint on (as a replica that took the experiment over would).
      const foreign = JSON.parse(first.json) as { counts: { pairs: number } };
      foreign.counts.pairs = 1_000_000;
      await store.write("fenced", JSON.stringify(foreign), first.revision, "intruder", Date.now());
      await publish(2, 30);
      await waitFor(
        async () =>
          (await collector.metrics.checkpoints.get()).values.some(
            (v) => v.labels.result === "conflict" && v.value > 0,
          ),
        { timeoutMs: 10_000, message: "the stale checkpoint refused" },
      );
      // The collector dropped its unwritten state, took the lease again and resumed from the
      // intruder's checkpoint: its count survives, and the 30 new pairs are added once.
      const report = await waitFor(
        async () => {
          const r = await collector.report("fenced").catch(() => undefined);
          return r?.counts.pairs === 1_000_030 ? r : undefined;
        },
        { timeoutMs: 10_000, message: "resumed from the foreign checkpoint" },
      );
      expect(report.source).toBe("memory");
    } finally {
      await collector.close();
    }
  });
});
