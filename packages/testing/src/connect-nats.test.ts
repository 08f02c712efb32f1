import { describe, expect, it } from "vitest";
import { connectNats, TEST_CONNECTION_OPTIONS, waitForStatus } from "./connect-nats.ts";
import { startNats } from "./start-nats.ts";

describe("connectNats", () => {
  it("refuses port 4222 and URLs without a port, so a test never reaches the machine's NATS", async () => {
    await expect(connectNats("nats://127.0.0.1:4222")).rejects.toMatchObject({
      code: "invalid_argument",
      field: "url",
    });
    await expect(connectNats("127.0.0.1")).rejects.toThrow(/url: must name a port other than 4222/);
    await expect(connectNats("")).rejects.toThrow(/url: must be a non-empty string/);
  });

  it("connects with the test defaults and reports the reconnect after a server restart", async () => {
    await using nats = await startNats({ jetstream: false });
    const nc = await connectNats(nats.url);
    try {
      expect(nc.info?.port).toBe(nats.port);
      expect(TEST_CONNECTION_OPTIONS.maxReconnectAttempts).toBe(-1);
      const reconnected = waitForStatus(nc, "reconnect");
      await nats.restart();
      await expect(reconnected).resolves.toMatchObject({ type: "reconnect" });
      const echoed = nc.subscribe("kit.after", { max: 1 });
      nc.publish("kit.after", "back");
      for await (const m of echoed) expect(m.string()).toBe("back");
    } finally {
      await nc.close();
    }
  });

  it("gives up waiting for a status with a deadline error", async () => {
    await using nats = await startNats({ jetstream: false });
    const nc = await connectNats(nats.url);
    try {
      await expect(waitForStatus(nc, "reconnect", { timeoutMs: 30 })).rejects.toMatchObject({
        code: "deadline_exceeded",
      });
    } finally {
      await nc.close();
    }
  });
});
