import type { NatsConnection } from "@nats-io/transport-node";
import { encodePair, pairMessageId, Subjects } from "@umbra/protocol";
import {
  connectJetStream,
  connectNats,
  generatePairRecords,
  type NatsServer,
  startNats,
  waitFor,
  waitForStatus,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { type Collector, createCollector } from "./create-collector.ts";

let nats: NatsServer;
let nc: NatsConnection;
let collector: Collector;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats(nats.url);
  collector = createCollector({
    nc,
    config: loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "outage",
      UMBRA_CHECKPOINT_INTERVAL_MS: "100",
      UMBRA_DISCOVERY_INTERVAL_MS: "100",
      UMBRA_LEASE_TTL_MS: "5000",
      UMBRA_LOG_LEVEL: "silent",
    }),
  });
  await collector.start();
});

afterAll(async () => {
  await collector?.close();
  await nc?.close();
  await nats?.stop();
});

async function publish(seed: number, count: number): Promise<void> {
  const conn = await connectJetStream(nats.url);
  try {
    for (const r of generatePairRecords({ seed, count, experiment: "outage" })) {
      const requestId = `${seed}-${r.requestId}`;
      await conn.js.publish(
        Subjects.pairs(r.experiment, r.variant),
        encodePair({ ...r, requestId }),
        {
          msgID: pairMessageId(r.experiment, requestId, r.variant),
        },
      );
    }
  } finally {
    await conn.close();
  }
}

describe("a NATS outage", () => {
  it("is ridden out: every pair published before and after a server restart is counted once", async () => {
    await publish(1, 400);
    await waitFor(
      async () => (await collector.report("outage").catch(() => undefined))?.counts.pairs === 400,
      { timeoutMs: 10_000, message: "400 pairs before the outage" },
    );
    const reconnected = waitForStatus(nc, "reconnect", { timeoutMs: 20_000 });
    let healthWhileDown: string | undefined;
    await nats.restart({
      whileDown: () =>
        waitFor(
          () => {
            healthWhileDown = collector.health().status;
            return healthWhileDown === "degraded";
          },
          {
            timeoutMs: 5_000,
            message: "health degraded while NATS is down",
          },
        ),
    });
    await reconnected;
    expect(healthWhileDown).toBe("degraded");
    await publish(2, 400);
    const report = await waitFor(
      async () => {
        const r = await collector.report("outage").catch(() => undefined);
        return r?.counts.pairs === 800 ? r : undefined;
      },
      { timeoutMs: 30_000, message: "800 pairs after the outage" },
    );
    expect(report.counts.duplicates.pairs).toBe(0);
    expect(collector.health().status).toBe("ok");
  });
});
