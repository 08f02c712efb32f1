import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { waitFor } from "@umbra/testing";
import { afterEach, describe, expect, it } from "vitest";
import { dueMs, quantile, startTraffic, type TrafficGenerator } from "./traffic-generator.ts";

interface Received {
  readonly path: string | undefined;
  readonly body: Record<string, unknown>;
}

let server: Server | undefined;
let traffic: TrafficGenerator | undefined;

afterEach(async () => {
  await traffic?.stop(1_000);
  const s = server;
  if (s !== undefined) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  traffic = undefined;
  server = undefined;
});

/** A serving app stand-in that records requests and answers them with `answer`. */
async function serve(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString();
    });
    req.on("end", () => {
      received.push({ path: req.url, body: JSON.parse(text) as Record<string, unknown> });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, received };
}

describe("startTraffic", () => {
  it("posts seeded requests with features, user, device and region to /predict", async () => {
    const app = await serve((_req, res) => res.end("{}"));
    traffic = startTraffic({ url: app.url, ratePerSecond: 500, seed: 3 });
    await waitFor(() => (traffic?.stats().ok ?? 0) >= 20, { message: "20 answered requests" });
    await traffic.stop();
    const first = app.received[0];
    expect(first?.path).toBe("/predict");
    expect(Object.keys(first?.body ?? {}).sort()).toEqual([
      "device",
      "features",
      "region",
      "requestId",
      "userId",
    ]);
    expect(first?.body.features).toHaveLength(8);
    const stats = traffic.stats();
    expect(stats.sent).toBe(app.received.length);
    expect(stats.ok).toBe(stats.sent);
    expect(stats.failed).toBe(0);
    expect(stats.p99Ms).not.toBeNull();
  });

  it("sends the same request ids in the same order for the same seed", async () => {
    const app = await serve((_req, res) => res.end("{}"));
    // Requests in flight may arrive out of order, so compare what each run sent as sets: the first
    // 10 ids of one run are all among the first 30 of the other (a different seed shares none).
    const run = async () => {
      const start = app.received.length;
      traffic = startTraffic({ url: app.url, ratePerSecond: 500, seed: 11 });
      await waitFor(() => app.received.length - start >= 30, { message: "30 requests" });
      await traffic.stop();
      return app.received.slice(start, start + 30).map((r) => r.body.requestId);
    };
    const first = await run();
    const second = await run();
    for (const id of first.slice(0, 10)) expect(second).toContain(id);
    for (const id of second.slice(0, 10)) expect(first).toContain(id);
  });

  it("counts answers other than 200 as failed, with the first failure in words", async () => {
    const app = await serve((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    traffic = startTraffic({ url: app.url, ratePerSecond: 200, seed: 1 });
    await waitFor(() => (traffic?.stats().failed ?? 0) >= 3, { message: "3 failures" });
    expect(traffic.stats().firstFailure).toMatch(/HTTP 503/);
    expect(traffic.stats().ok).toBe(0);
  });

  it("skips and counts requests beyond maxInFlight instead of queueing them", async () => {
    const { url } = await serve(() => {
      // never answers
    });
    traffic = startTraffic({ url, ratePerSecond: 1_000, seed: 1, maxInFlight: 5 });
    await waitFor(() => (traffic?.stats().skipped ?? 0) >= 10, { message: "10 skipped" });
    expect(traffic.stats().inFlight).toBe(5);
    expect(traffic.stats().sent).toBe(5);
  });

  it("refuses a rate that is not positive", () => {
    expect(() => startTraffic({ url: "http://127.0.0.1:1", ratePerSecond: 0, seed: 1 })).toThrow(
      "ratePerSecond: must be a number in (0, 10000]",
    );
  });
});

describe("quantile", () => {
  it("picks the value at the quantile of unsorted numbers, null for none", () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 0.99)).toBe(5);
  });
});

describe("dueMs", () => {
  it("climbs linearly over the ramp, then runs at the full rate", () => {
    expect(dueMs(0, 5_000)).toBe(0);
    // Half way up the ramp, a quarter of the ramp's full-rate traffic is due.
    expect(dueMs(2_500, 5_000)).toBe(625);
    expect(dueMs(5_000, 5_000)).toBe(2_500);
    expect(dueMs(6_000, 5_000)).toBe(3_500);
    expect(dueMs(6_000, 0)).toBe(6_000);
  });
});
