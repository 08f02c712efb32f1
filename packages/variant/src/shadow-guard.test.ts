import dns from "node:dns";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo } from "node:net";
import net from "node:net";
import tls from "node:tls";
import { createOipClient } from "@umbra/proto";
import { UmbraError } from "@umbra/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClassifier } from "./reference/classifier.ts";
import { serveVariant, type VariantServer } from "./serve-variant.ts";
import {
  guardSideEffects,
  guardStats,
  isShadow,
  runAsShadow,
  shadowRequestId,
} from "./shadow-guard.ts";

/** A real HTTP server on 127.0.0.1 that counts the requests it gets. */
let sink: http.Server;
let sinkUrl: string;
let hits = 0;

beforeAll(async () => {
  sink = http.createServer((req, res) => {
    hits++;
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/side-effect`;
});

afterAll(async () => {
  sink.closeAllConnections();
  await new Promise((resolve) => sink.close(resolve));
});

const uninstalls: (() => void)[] = [];
afterEach(() => {
  for (const u of uninstalls.splice(0)) u();
});

function install(): void {
  uninstalls.push(guardSideEffects());
}

async function blockedError(fn: () => unknown): Promise<UmbraError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UmbraError);
    expect((e as UmbraError).message).toMatch(/^shadow guard: /);
    return e as UmbraError;
  }
  throw new Error("expected the guard to block");
}

describe("the shadow guard", () => {
  it("blocks and counts a shadow fetch while the same fetch from production goes through", async () => {
    install();
    const before = hits;
    const production = await fetch(sinkUrl, { method: "POST", body: "p" });
    expect(await production.text()).toBe("ok");
    expect(hits).toBe(before + 1);

    const run = await runAsShadow(
      async () => {
        const e = await blockedError(() => fetch(sinkUrl, { method: "POST", body: "s" }));
        expect(e.code).toBe("unavailable");
        expect(e.message).toContain(`fetch(${sinkUrl}) blocked in shadow request "r-1"`);
        return "answer";
      },
      { requestId: "r-1" },
    );
    expect(run).toEqual({ value: "answer", sideEffectAttempts: 1 });
    expect(hits).toBe(before + 1);
  });

  it("blocks every outbound API: http(s), http2, net, tls and dns in all their forms", async () => {
    install();
    const port = (sink.address() as AddressInfo).port;
    const { lookup: esmLookup } = await import("node:dns");
    const { lookup: promiseLookup } = await import("node:dns/promises");
    const attempts: (() => unknown)[] = [
      () => http.get(sinkUrl),
      () => http.request(sinkUrl, { method: "POST" }),
      () => https.request("https://127.0.0.1:1/"),
      () => https.get("https://127.0.0.1:1/"),
      () => http2.connect("http://127.0.0.1:1"),
      () => net.connect(port, "127.0.0.1"),
      () => net.createConnection({ port, host: "127.0.0.1" }),
      () => new net.Socket().connect(port, "127.0.0.1"),
      () => tls.connect(1, "127.0.0.1"),
      () => dns.lookup("localhost", () => undefined),
      () => dns.resolve4("localhost", () => undefined),
      () => new dns.Resolver().resolve4("localhost", () => undefined),
      () => dns.promises.lookup("localhost"),
      () => new dns.promises.Resolver().resolve4("localhost"),
      () => esmLookup("localhost", () => undefined),
      () => promiseLookup("localhost"),
      () => dns.reverse("127.0.0.1", () => undefined),
    ];
    const before = hits;
    const run = await runAsShadow(async () => {
      for (const attempt of attempts) await blockedError(attempt);
    });
    expect(run.sideEffectAttempts).toBe(attempts.length);
    expect(hits).toBe(before);
  });

  it("lets production code connect and resolve while installed", async () => {
    install();
    const port = (sink.address() as AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve();
      });
      socket.on("error", reject);
    });
    const { address } = await dns.promises.lookup("localhost");
    expect(address).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(isShadow()).toBe(false);
  });

  it("follows the shadow request into timers and later awaits", async () => {
    install();
    const run = await runAsShadow(
      async () => {
        await new Promise((r) => setTimeout(r, 1));
        await new Promise<void>((resolve) =>
          setImmediate(() => {
            expect(isShadow()).toBe(true);
            expect(shadowRequestId()).toBe("later");
            fetch(sinkUrl).catch(() => resolve());
          }),
        );
      },
      { requestId: "later" },
    );
    expect(run.sideEffectAttempts).toBe(1);
  });

  it("installs once however often it is asked, and restores the built-ins after the last uninstall", () => {
    const originals = {
      fetch: globalThis.fetch,
      request: http.request,
      connect: net.Socket.prototype.connect,
      lookup: dns.lookup,
    };
    const first = guardSideEffects();
    const second = guardSideEffects();
    expect(globalThis.fetch).not.toBe(originals.fetch);
    expect(guardStats().installed).toBe(true);
    first();
    first();
    expect(guardStats().installed).toBe(true);
    expect(http.request).not.toBe(originals.request);
    second();
    expect(guardStats().installed).toBe(false);
    expect({
      fetch: globalThis.fetch,
      request: http.request,
      connect: net.Socket.prototype.connect,
      lookup: dns.lookup,
    }).toEqual(originals);
  });

  it("blocks nothing when it is not installed; shadow code still knows it is shadow", async () => {
    const before = hits;
    const run = await runAsShadow(async () => {
      expect(isShadow()).toBe(true);
      return (await fetch(sinkUrl)).status;
    });
    expect(run).toEqual({ value: 200, sideEffectAttempts: 0 });
    expect(hits).toBe(before + 1);
  });
});

describe("the shadow guard in a variant server", () => {
  const servers: VariantServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  for (const transport of ["unary", "stream"] as const) {
    it(`blocks and counts a shadow call's fetch over ${transport}; the same call from production goes through`, async () => {
      const server = await serveVariant({
        models: { classifier: createClassifier({ sideEffect: { url: sinkUrl } }) },
      });
      servers.push(server);
      const client = createOipClient({ address: server.address, model: "classifier", transport });
      try {
        const x = new Float32Array(8).fill(0.25);
        const before = hits;
        const shadow = await client.infer(x, { shadow: true, requestId: "s-1" });
        expect(shadow.sideEffectAttempts).toBe(1);
        expect(hits).toBe(before);
        const production = await client.infer(x, { requestId: "p-1" });
        expect(production.sideEffectAttempts).toBeUndefined();
        expect(hits).toBe(before + 1);
        expect(production.output).toEqual(shadow.output);
        expect(server.stats()).toMatchObject({ shadowCalls: 1, sideEffectAttempts: 1 });
      } finally {
        await client.close();
      }
    });
  }

  it("leaves grpc-js's own connections alone: new clients connect while a shadow call is running", async () => {
    let release: () => void = () => undefined;
    let running = false;
    const server = await serveVariant({
      models: {
        slow: () => {
          running = true;
          return new Promise((resolve) => {
            release = () => resolve({ label: "shadow done" });
          });
        },
        classifier: createClassifier(),
      },
    });
    servers.push(server);
    const shadowClient = createOipClient({ address: server.address, model: "slow" });
    const fresh = createOipClient({
      address: server.address,
      model: "classifier",
      transport: "stream",
    });
    try {
      const shadowCall = shadowClient.infer([1], { shadow: true });
      while (!running) await new Promise((r) => setTimeout(r, 5));
      // A new channel and a new stream, opened while a shadow scope is alive in this process.
      const production = await fresh.infer(new Float32Array(8));
      expect(production.output.label).toBeDefined();
      release();
      const shadow = await shadowCall;
      expect(shadow.output.label).toBe("shadow done");
      expect(shadow.sideEffectAttempts).toBe(0);
    } finally {
      await shadowClient.close();
      await fresh.close();
    }
  });

  it("blocks a gRPC call a shadow model makes to another server, and lets production make it", async () => {
    const other = await serveVariant({
      models: { classifier: createClassifier() },
      guardSideEffects: false,
    });
    servers.push(other);
    const server = await serveVariant({
      models: {
        chained: async () => {
          const downstream = createOipClient({
            address: other.address,
            model: "classifier",
            deadlineMs: 2_000,
          });
          try {
            return { label: (await downstream.infer(new Float32Array(8))).output.label ?? "" };
          } catch (e) {
            return { label: `failed: ${(e as Error).message}` };
          } finally {
            await downstream.close();
          }
        },
      },
    });
    servers.push(server);
    const client = createOipClient({ address: server.address, model: "chained" });
    try {
      const shadow = await client.infer([1], { shadow: true });
      expect(shadow.output.label).toMatch(
        /^failed: .*shadow guard: net\.Socket\.connect\(127\.0\.0\.1:\d+\) blocked/,
      );
      expect(shadow.sideEffectAttempts).toBeGreaterThanOrEqual(1);
      const production = await client.infer([1]);
      expect(production.output.label).not.toMatch(/^failed/);
    } finally {
      await client.close();
    }
  });
});
