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
          msgID: pairMessageId(r.requestId, r.variant),
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
});
