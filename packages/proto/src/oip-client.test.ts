// The OIP client against real grpc-js servers on 127.0.0.1 (port 0), built in each test from the
// loaded service definitions, so each test controls exactly what the server answers.
import { status } from "@grpc/grpc-js";
import { UmbraError } from "@umbra/protocol";
import { afterEach, describe, expect, it } from "vitest";
import {
  answer,
  type Handler,
  type Reply,
  startTestServer,
  type TestServer,
} from "./internal/test-oip-server.ts";
import { createOipClient, type OipClient, type OipClientOptions } from "./oip-client.ts";
import { parametersFromWire } from "./parameters.ts";
import { tensorsFromWire } from "./tensors.ts";

const servers: TestServer[] = [];
const clients: OipClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function startServer(
  handler: Handler,
  options: Parameters<typeof startTestServer>[1] = {},
): Promise<TestServer> {
  return startTestServer(handler, options).then((server) => {
    servers.push(server);
    return server;
  });
}

function client(options: Partial<OipClientOptions> & { address: string }): OipClient {
  const c = createOipClient({ model: "ranker", ...options });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<UmbraError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UmbraError);
    return e as UmbraError;
  }
  throw new Error("expected a rejection");
}

for (const transport of ["unary", "stream"] as const) {
  describe(`the OIP client over ${transport}`, () => {
    it("sends the id in ModelInferRequest.id and x-request-id, plus traceparent, shadow marker, metadata and parameters", async () => {
      const server = await startServer((r) => answer(r));
      const c = client({ address: server.address, transport, metadata: { "x-caller": "svc" } });
      const result = await c.infer(new Float32Array([1, 2, 3]), {
        requestId: "req-1",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        shadow: true,
        experiment: "ranker",
        variant: "A",
        metadata: { "x-tenant": "t1" },
        parameters: { segment: "eu", k: 3 },
      });
      const [{ request, metadata }] = server.received as [TestServer["received"][number]];
      expect(request.id).toBe("req-1");
      expect(request.model_name).toBe("ranker");
      const tensors = tensorsFromWire(request.inputs, request.raw_input_contents, "inputs");
      expect(tensors[0]).toMatchObject({ name: "input", datatype: "FP32", shape: [1, 3] });
      const params = parametersFromWire(request.parameters);
      expect(params).toMatchObject({
        umbra_experiment: "ranker",
        umbra_variant: "A",
        segment: "eu",
        k: 3,
      });
      expect(metadata["x-caller"]).toBe("svc");
      // Per-call headers ride in gRPC metadata (unary) or in `umbra_header_*` parameters (stream).
      const header = (name: string) =>
        transport === "unary" ? metadata[name] : params[`umbra_header_${name}`];
      if (transport === "unary") expect(metadata["x-request-id"]).toBe("req-1");
      else expect(params.umbra_timeout_ms).toBe(5000);
      expect(header("traceparent")).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      expect(header("x-umbra-shadow")).toBe("1");
      expect(header("x-tenant")).toBe("t1");
      expect(result.id).toBe("req-1");
      expect(result.modelVersion).toBe("7");
      expect(result.output.label).toBe("for req-1");
      expect([...(result.output.scores ?? [])]).toEqual([0.25, 0.75]);
      expect(result.sideEffectAttempts).toBeUndefined();
    });

    it("reads the side-effect count and cache hit from the response parameters", async () => {
      const server = await startServer((r) =>
        answer(r, {
          parameters: {
            umbra_side_effect_attempts: { int64_param: "2" },
            umbra_cache_hit: { bool_param: true },
          },
        }),
      );
      const result = await client({ address: server.address, transport }).infer({ q: "x" });
      expect(result.sideEffectAttempts).toBe(2);
      expect(result.cacheHit).toBe(true);
    });

    it("gives a random UUID as the request id when the caller gives none", async () => {
      const server = await startServer((r) => answer(r));
      const result = await client({ address: server.address, transport }).infer([1]);
      expect(result.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
      expect(server.received[0]?.request.id).toBe(result.id);
    });

    it("rejects with deadline_exceeded when the server does not answer in time", async () => {
      const server = await startServer(() => "hang");
      const c = client({ address: server.address, transport });
      const e = await rejection(c.infer([1], { deadlineMs: 50.5 }));
      expect(e.code).toBe("deadline_exceeded");
    });

    it("maps the server's status to the UmbraError code", async () => {
      const server = await startServer((r) =>
        r.id === "a"
          ? { code: status.NOT_FOUND, details: "no such model" }
          : r.id === "b"
            ? { code: status.INVALID_ARGUMENT, details: "inputs[0]: bad" }
            : { code: status.UNAVAILABLE, details: "not ready" },
      );
      const c = client({ address: server.address, transport });
      expect((await rejection(c.infer([1], { requestId: "a" }))).code).toBe("not_found");
      const bad = await rejection(c.infer([1], { requestId: "b" }));
      expect(bad.code).toBe("invalid_argument");
      expect(bad.message).toContain("inputs[0]: bad");
      expect((await rejection(c.infer([1], { requestId: "c" }))).code).toBe("unavailable");
    });

    it("fails a call whose response breaks the protocol with internal, naming the output", async () => {
      const server = await startServer((r) => ({
        model_name: r.model_name,
        id: r.id ?? "",
        outputs: [{ name: "scores", datatype: "FP32", shape: [1, 4] }],
        raw_output_contents: [new Uint8Array(3)],
      }));
      const e = await rejection(client({ address: server.address, transport }).infer([1]));
      expect(e.code).toBe("internal");
      expect(e.message).toMatch(
        /invalid response .*outputs\[0\] "scores": raw contents are 3 bytes/,
      );
    });

    it("cancels a call when its signal aborts", async () => {
      const server = await startServer(() => "hang");
      const c = client({ address: server.address, transport });
      const controller = new AbortController();
      const call = c.infer([1], { signal: controller.signal, deadlineMs: 10_000 });
      // Abort once the server holds the request, so the abort really interrupts a call in flight.
      await waitUntil(() => server.received.length === 1);
      controller.abort();
      expect((await rejection(call)).code).toBe("cancelled");
    });

    it("refuses calls beyond maxInFlight with resource_exhausted and counts them", async () => {
      const server = await startServer(() => "hang");
      const c = client({ address: server.address, transport, maxInFlight: 2, deadlineMs: 10_000 });
      const pending = [c.infer([1]), c.infer([2])];
      const e = await rejection(c.infer([3]));
      expect(e.code).toBe("resource_exhausted");
      expect(c.stats()).toMatchObject({ inFlight: 2, rejectedInFlight: 1 });
      await c.close();
      for (const p of pending) expect((await rejection(p)).code).toBe("cancelled");
    });

    it("reports an unreachable server as unavailable", async () => {
      const server = await startServer((r) => answer(r));
      const address = server.address;
      await server.close();
      const c = client({ address, transport });
      expect((await rejection(c.infer([1], { deadlineMs: 2_000 }))).code).toBe("unavailable");
    });
  });
}

describe("the OIP client's stream transport", () => {
  it("correlates 500 concurrent calls whose answers come back in reverse order", async () => {
    const gate: (() => void)[] = [];
    const server = await startServer(
      (r) =>
        new Promise<Reply>((resolve) => {
          gate.push(() => resolve(answer(r)));
          if (gate.length === 500) for (const open of gate.reverse()) open();
        }),
    );
    const c = client({ address: server.address, transport: "stream" });
    const ids = Array.from({ length: 500 }, (_, i) => `id-${i}`);
    const results = await Promise.all(ids.map((id) => c.infer([1], { requestId: id })));
    expect(results.map((r) => r.output.label)).toEqual(ids.map((id) => `for ${id}`));
    expect(server.streams).toBe(1);
    expect(c.stats()).toMatchObject({ calls: 500, inFlight: 0, streamOpens: 1, streamFailures: 0 });
  });

  it("fails the calls of a stream the server ends, then opens a new stream for the next call", async () => {
    const server = await startServer((r) => answer(r), { stream: "end-after-first" });
    const c = client({ address: server.address, transport: "stream" });
    const e = await rejection(c.infer([1], { requestId: "x" }));
    expect(e.code).toBe("unavailable");
    expect(e.message).toMatch(/the server ended the stream/);
    expect((await rejection(c.infer([1], { requestId: "y" }))).code).toBe("unavailable");
    expect(c.stats()).toMatchObject({ streamOpens: 2, streamFailures: 2 });
    expect(server.streams).toBe(2);
  });

  it("refuses a second call with an id already in flight", async () => {
    const server = await startServer(() => "hang");
    const c = client({ address: server.address, transport: "stream", deadlineMs: 10_000 });
    const first = c.infer([1], { requestId: "same" });
    const e = await rejection(c.infer([1], { requestId: "same" }));
    expect(e.code).toBe("invalid_argument");
    expect(e.message).toMatch(/requestId: "same" is already in flight/);
    await c.close();
    await rejection(first);
  });

  it("rejects calls while the stream does not drain instead of buffering without bound", async () => {
    const server = await startServer((r) => answer(r), { stream: "never-read" });
    const c = client({
      address: server.address,
      transport: "stream",
      deadlineMs: 10_000,
      maxQueuedMessages: 8,
      maxMessageSizeBytes: 8 * 1024 * 1024,
    });
    // 256 KiB per message: the server never reads, so HTTP/2 flow control soon stops the writes.
    const big = new Float32Array(64 * 1024);
    const outcomes: (UmbraError | "ok" | undefined)[] = [];
    for (let i = 0; i < 200 && !outcomes.some((o) => o instanceof UmbraError); i++) {
      const index = outcomes.push(undefined) - 1;
      c.infer(big, { requestId: `b-${i}` }).then(
        () => {
          outcomes[index] = "ok";
        },
        (e: UmbraError) => {
          outcomes[index] = e;
        },
      );
      await new Promise((r) => setImmediate(r));
    }
    const refused = outcomes.find((o): o is UmbraError => o instanceof UmbraError);
    expect(refused?.code).toBe("resource_exhausted");
    expect(refused?.message).toMatch(/8 messages are waiting to be written/);
    expect(c.stats().rejectedBackpressure).toBe(1);
    expect(outcomes.length).toBeLessThan(200);
    await c.close();
  });
});

describe("the OIP client's health and options", () => {
  it("reports a model the server says is not ready as not ready, with an unavailable reason", async () => {
    const server = await startServer((r) => answer(r), { ready: false });
    const c = client({ address: server.address });
    const r = await c.readiness();
    expect(r.ready).toBe(false);
    expect(r.ready === false && r.reason.code).toBe("unavailable");
    expect(await c.isReady()).toBe(false);
  });

  it("reports a ready model as ready", async () => {
    const server = await startServer((r) => answer(r));
    expect(await client({ address: server.address }).isReady()).toBe(true);
  });

  it("refuses bad options, naming the option", () => {
    expect(() => createOipClient({ address: "", model: "m" })).toThrow(
      /address: must be a non-empty string/,
    );
    expect(() =>
      createOipClient({ address: "a:1", model: "m", transport: "udp" as never }),
    ).toThrow(/transport: must be "unary" or "stream"/);
    expect(() => createOipClient({ address: "a:1", model: "m", deadlineMs: 0 })).toThrow(
      /deadlineMs: must be a finite number of milliseconds > 0/,
    );
    expect(() =>
      createOipClient({ address: "a:1", model: "m", metadata: { "X-Up": "1" } }),
    ).toThrow(/metadata\.X-Up: key must be lower-case/);
  });

  it("refuses a call with a bad parameter before sending anything", async () => {
    const server = await startServer((r) => answer(r));
    const c = client({ address: server.address });
    const e = await rejection(c.infer([1], { parameters: { temperature: 0.5 } }));
    expect(e.field).toBe("parameters.temperature");
    expect(server.received).toEqual([]);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
