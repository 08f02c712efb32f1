import { Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  boolTensor,
  createOipClient,
  encodeBytesElements,
  int64Tensor,
  loadProtos,
  type ModelInferRequest,
  type ModelInferResponse,
  type OipClient,
  type OipClientOptions,
  readBool,
  readInt64,
  type Tensor,
} from "@umbra/proto";
import { UmbraError } from "@umbra/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { ModelContext, ModelDefinition } from "./model.ts";
import { createClassifier } from "./reference/classifier.ts";
import {
  GARBAGE_OUTPUTS,
  garbageModel,
  hangingModel,
  throwingModel,
} from "./reference/misbehaving.ts";
import { type ServeVariantOptions, serveVariant, type VariantServer } from "./serve-variant.ts";

const servers: VariantServer[] = [];
const clients: { close(): unknown }[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: ServeVariantOptions): Promise<VariantServer> {
  const server = await serveVariant(options);
  servers.push(server);
  return server;
}

function connect(
  server: VariantServer,
  model: string,
  options: Partial<OipClientOptions> = {},
): OipClient {
  const c = createOipClient({ address: server.address, model, ...options });
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

/** Sends a hand-built ModelInferRequest, so malformed requests reach the server as they are. */
function rawInfer(
  server: VariantServer,
  request: ModelInferRequest,
): Promise<ServiceError | ModelInferResponse> {
  const client = new Client(server.address, credentials.createInsecure());
  clients.push(client);
  const m = loadProtos().inference.ModelInfer;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      new Metadata(),
      {},
      (e, r) => resolve(e ?? (r as ModelInferResponse)),
    );
  });
}

const features = (n: number) => new Uint8Array(new Float32Array(n).fill(0.5).buffer);

const echo: ModelDefinition = {
  predict: (input: unknown, ctx: ModelContext) => ({
    label: `${ctx.requestId}|${ctx.metadata["x-request-id"]}|${input instanceof Float32Array ? input.length : typeof input}`,
    text: JSON.stringify({
      parameters: ctx.parameters,
      shadow: ctx.isShadow,
      tenant: ctx.metadata["x-tenant"] ?? null,
    }),
  }),
};

for (const transport of ["unary", "stream"] as const) {
  describe(`serveVariant over ${transport}`, () => {
    it("round-trips a feature vector as FP32 raw contents to a reference classifier", async () => {
      const server = await start({ models: { classifier: createClassifier() } });
      const c = connect(server, "classifier", { transport });
      const x = new Float32Array([0.1, -0.4, 0.9, 0.3, -0.2, 0.8, 0.05, -0.7]);
      const a = await c.infer(x, { requestId: "r1" });
      const b = await c.infer(x, { requestId: "r2" });
      expect(["negative", "neutral", "positive"]).toContain(a.output.label);
      expect(a.output.scores?.length).toBe(3);
      expect([...(a.output.scores ?? [])].reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(b.output).toEqual(a.output);
    });

    it("round-trips a JSON-like input as one msgpack BYTES tensor, typed arrays inside intact", async () => {
      let seen: unknown;
      const server = await start({
        models: {
          json: (input: unknown) => {
            seen = input;
            return { text: "ok" };
          },
        },
      });
      const input = {
        user: { id: 7, region: "eu" },
        history: [1, 2, 3],
        emb: new Float32Array([1.5, 2.25]),
      };
      const r = await connect(server, "json", { transport }).infer(input);
      expect(r.output.text).toBe("ok");
      expect(seen).toEqual(input);
    });

    it("round-trips INT64 tensors beyond 2^53 and BOOL tensors as raw tensors", async () => {
      const server = await start({
        models: {
          raw: {
            input: "tensors",
            predict: (tensors: readonly Tensor[]) => {
              const [ints, flags] = tensors as [Tensor, Tensor];
              const sum = readInt64(ints).reduce((s, v) => s + v, 0n);
              return [
                int64Tensor("sum", [sum]),
                boolTensor(
                  "negated",
                  readBool(flags).map((f) => !f),
                ),
              ];
            },
          },
        },
      });
      const big = 2n ** 60n + 1n;
      const r = await connect(server, "raw", { transport }).inferTensors([
        int64Tensor("ints", [big, 2n ** 60n, -1n]),
        boolTensor("flags", [true, false]),
      ]);
      expect(r.output).toEqual({});
      const [sum, negated] = r.tensors as [Tensor, Tensor];
      expect([...readInt64(sum)]).toEqual([2n ** 61n]);
      expect(readBool(negated)).toEqual([false, true]);
    });

    it("echoes the request id in the response id and gives it to the model in the id and x-request-id", async () => {
      const server = await start({ models: { echo } });
      const r = await connect(server, "echo", { transport }).infer(new Float32Array(4), {
        requestId: "abc-123",
      });
      expect(r.id).toBe("abc-123");
      expect(r.output.label).toBe("abc-123|abc-123|4");
    });

    it("hands request parameters and per-call metadata to the model and returns its response parameters", async () => {
      const server = await start({
        models: {
          echo: {
            predict: (input: unknown, ctx: ModelContext) => {
              ctx.setResponseParameter("umbra_cache_hit", true);
              ctx.setResponseParameter("tokens", 12);
              return echo.predict(input, ctx);
            },
          },
        },
      });
      const r = await connect(server, "echo", { transport }).infer(
        { q: "x" },
        {
          experiment: "ranker",
          variant: "B",
          parameters: { segment: "eu" },
          metadata: { "x-tenant": "t1" },
        },
      );
      expect(JSON.parse(r.output.text ?? "")).toEqual({
        parameters: { umbra_experiment: "ranker", umbra_variant: "B", segment: "eu" },
        shadow: false,
        tenant: "t1",
      });
      expect(r.cacheHit).toBe(true);
      expect(r.parameters.tokens).toBe(12);
    });

    it("answers DEADLINE_EXCEEDED for a hanging model, aborts the model, and keeps serving", async () => {
      let aborted = 0;
      const server = await start({
        models: {
          hang: {
            predict: (_input: unknown, ctx: ModelContext) =>
              new Promise((_resolve, reject) =>
                ctx.signal.addEventListener("abort", () => {
                  aborted++;
                  reject(ctx.signal.reason);
                }),
              ),
          },
          echo,
        },
      });
      const e = await rejection(
        connect(server, "hang", { transport }).infer([1], { deadlineMs: 100 }),
      );
      expect(e.code).toBe("deadline_exceeded");
      await waitUntil(() => aborted === 1 && server.stats().abandoned === 1);
      expect(server.stats().inFlight).toBe(0);
      const ok = await connect(server, "echo", { transport }).infer([1]);
      expect(ok.output.label).toMatch(/\|1$/);
    });

    it("answers UNAVAILABLE while not ready, reports not ready, and serves again once ready", async () => {
      const server = await start({ models: { echo }, ready: false });
      const c = connect(server, "echo", { transport });
      expect(await c.isReady()).toBe(false);
      expect((await rejection(c.infer([1]))).code).toBe("unavailable");
      server.setReady(true);
      expect(await c.isReady()).toBe(true);
      expect((await c.infer([1])).output.label).toBeDefined();
    });

    it("answers NOT_FOUND for a model it does not serve, naming the models it does", async () => {
      const server = await start({ models: { echo } });
      const e = await rejection(connect(server, "nope", { transport }).infer([1]));
      expect(e.code).toBe("not_found");
      expect(e.message).toMatch(/model "nope" is not served here \(models: echo\)/);
      expect((await connect(server, "nope", { transport }).readiness()).ready).toBe(false);
    });

    it("answers INTERNAL when the model throws, and passes a model's invalid_argument through", async () => {
      const server = await start({
        models: {
          throws: throwingModel("boom"),
          picky: () => {
            throw UmbraError.invalid("input.age", "must be >= 0");
          },
        },
      });
      const e = await rejection(connect(server, "throws", { transport }).infer([1]));
      expect(e.code).toBe("internal");
      expect(e.message).toMatch(/model throws failed: boom/);
      const p = await rejection(connect(server, "picky", { transport }).infer([1]));
      expect(p.code).toBe("invalid_argument");
      expect(p.message).toMatch(/input\.age: must be >= 0/);
    });

    it("answers INTERNAL for every kind of garbage output and survives them all", async () => {
      const server = await start({ models: { garbage: garbageModel(), echo } });
      const c = connect(server, "garbage", { transport });
      for (let i = 0; i < GARBAGE_OUTPUTS.length; i++) {
        const e = await rejection(c.infer([1]));
        expect(e.code).toBe("internal");
        expect(e.message).toMatch(/model garbage returned an invalid output/);
      }
      expect((await connect(server, "echo", { transport }).infer([1])).output.label).toBeDefined();
    });
  });
}

describe("serveVariant's checks of malformed requests", () => {
  const declared = createClassifier({ featureCount: 4 });

  async function status_(request: Partial<ModelInferRequest>): Promise<ServiceError> {
    const server = await start({ models: { classifier: declared, any: () => ({ label: "x" }) } });
    const r = await rawInfer(server, { model_name: "classifier", inputs: [], ...request });
    expect(r).toBeInstanceOf(Error);
    return r as ServiceError;
  }

  it("names the input whose datatype differs from the declared one", async () => {
    const e = await status_({
      inputs: [{ name: "input", datatype: "FP64", shape: [1, 4] }],
      raw_input_contents: [new Uint8Array(32)],
    });
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toBe('inputs[0] "input": datatype must be FP32 (got FP64)');
  });

  it("names the input whose raw size does not match shape × datatype size", async () => {
    const e = await status_({
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
      raw_input_contents: [features(3)],
    });
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toBe(
      'inputs[0] "input": raw contents are 12 bytes, but shape [1,4] of FP32 (4 byte(s) each) needs 16',
    );
  });

  it("names a missing declared input", async () => {
    const e = await status_({ inputs: [] });
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toBe('inputs: missing input "input" (FP32 [1,4]); the request has no inputs');
  });

  it("names an input whose shape does not fit the declared one", async () => {
    const e = await status_({
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 4] }],
      raw_input_contents: [features(8)],
    });
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(
      /inputs\[0\] "input": shape \[2,4\] does not match the declared \[1,4\]/,
    );
  });

  it("names a BYTES input whose length prefix runs past its end", async () => {
    const server = await start({ models: { any: () => ({ label: "x" }) } });
    const e = (await rawInfer(server, {
      model_name: "any",
      inputs: [{ name: "text", datatype: "BYTES", shape: [1] }],
      raw_input_contents: [new Uint8Array([200, 0, 0, 0, 104, 105])],
    })) as ServiceError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(
      /inputs\[0\] "text": BYTES element 0: length prefix 200 runs 198 byte\(s\) past the end/,
    );
  });

  it("names a BYTES input that holds fewer elements than its shape", async () => {
    const server = await start({ models: { any: () => ({ label: "x" }) } });
    const e = (await rawInfer(server, {
      model_name: "any",
      inputs: [{ name: "text", datatype: "BYTES", shape: [3] }],
      raw_input_contents: [encodeBytesElements(["a", "b"])],
    })) as ServiceError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(
      /inputs\[0\] "text": holds 2 BYTES element\(s\) but its shape needs 3/,
    );
  });

  it("names a msgpack input that is not msgpack", async () => {
    const server = await start({ models: { any: () => ({ label: "x" }) } });
    const e = (await rawInfer(server, {
      model_name: "any",
      inputs: [
        {
          name: "input",
          datatype: "BYTES",
          shape: [1],
          parameters: { umbra_encoding: { string_param: "msgpack" } },
        },
      ],
      raw_input_contents: [encodeBytesElements([new Uint8Array([0x92, 0x01])])],
    })) as ServiceError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/inputs\[0\] "input": is not valid msgpack/);
  });

  it("refuses raw contents that do not pair one to one with the inputs", async () => {
    const e = await status_({
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
      raw_input_contents: [features(4), features(4)],
    });
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/raw_input_contents: holds 2 entries but there are 1 inputs/);
  });

  it("names an unknown datatype", async () => {
    const server = await start({ models: { any: () => ({ label: "x" }) } });
    const e = (await rawInfer(server, {
      model_name: "any",
      inputs: [{ name: "x", datatype: "FP8", shape: [1] }],
      raw_input_contents: [new Uint8Array(1)],
    })) as ServiceError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/inputs\[0\] "x": datatype must be one of BOOL/);
  });

  it("names a requested output the model does not produce", async () => {
    const e = await status_({
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
      raw_input_contents: [features(4)],
      outputs: [{ name: "logits" }],
    });
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/outputs\[0\] "logits": is not an output of model classifier/);
  });

  it("returns only the requested outputs", async () => {
    const server = await start({ models: { classifier: declared } });
    const r = (await rawInfer(server, {
      model_name: "classifier",
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
      raw_input_contents: [features(4)],
      outputs: [{ name: "scores" }],
    })) as ModelInferResponse;
    expect(r.outputs.map((o) => o.name)).toEqual(["scores"]);
  });

  it("answers RESOURCE_EXHAUSTED for a request larger than maxMessageSizeBytes", async () => {
    const server = await start({
      models: { any: () => ({ label: "x" }) },
      maxMessageSizeBytes: 1024,
    });
    const e = (await rawInfer(server, {
      model_name: "any",
      inputs: [{ name: "big", datatype: "UINT8", shape: [4096] }],
      raw_input_contents: [new Uint8Array(4096)],
    })) as ServiceError;
    expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("answers NOT_FOUND for a model version it does not serve", async () => {
    const server = await start({
      models: { v: { predict: () => ({ label: "x" }), version: "2" } },
    });
    const e = (await rawInfer(server, {
      model_name: "v",
      model_version: "1",
      inputs: [],
    })) as ServiceError;
    expect(e.code).toBe(status.NOT_FOUND);
    expect(e.details).toMatch(/model v has no version "1" \(serving 2\)/);
  });
});

describe("serveVariant's health, metadata and shutdown", () => {
  it("reports server and model metadata with the declared inputs and outputs", async () => {
    const server = await start({ models: { classifier: createClassifier({ version: "3" }) } });
    const c = connect(server, "classifier");
    expect(await c.modelMetadata()).toEqual({
      name: "classifier",
      versions: ["3"],
      platform: "umbra_reference",
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 8] }],
      outputs: [
        { name: "label", datatype: "BYTES", shape: [1] },
        { name: "scores", datatype: "FP32", shape: [1, 3] },
      ],
    });
    expect(await c.serverMetadata()).toEqual({
      name: "umbra-variant",
      version: "0.1.0",
      extensions: ["umbra_mirror"],
    });
  });

  it("lets a call in flight finish on close, refuses new calls meanwhile, then stops", async () => {
    let release: () => void = () => undefined;
    const started: string[] = [];
    const server = await serveVariant({
      models: {
        slow: (_i: unknown, ctx: ModelContext) => {
          started.push(ctx.requestId);
          return new Promise((resolve) => {
            release = () => resolve({ label: "done" });
          });
        },
      },
    });
    const c = connect(server, "slow");
    const inFlight = c.infer([1], { requestId: "first" });
    await waitUntil(() => started.length === 1);
    const closed = server.close();
    expect(server.ready).toBe(false);
    const refused = await rejection(c.infer([1], { requestId: "second" }));
    expect(refused.code).toBe("unavailable");
    release();
    expect((await inFlight).output.label).toBe("done");
    await closed;
    expect((await rejection(c.infer([1], { deadlineMs: 2_000 }))).code).toBe("unavailable");
  });

  it("cuts off calls that outlive shutdownTimeoutMs and aborts their models", async () => {
    const server = await serveVariant({ models: { hang: hangingModel() }, shutdownTimeoutMs: 50 });
    const c = connect(server, "hang", { transport: "stream" });
    const call = rejection(c.infer([1], { deadlineMs: 10_000 }));
    await waitUntil(() => server.stats().inFlight === 1);
    await server.close();
    expect(server.stats().inFlight).toBe(0);
    expect((await call).code).toBe("unavailable");
  });

  it("refuses bad options, naming the option", async () => {
    await expect(serveVariant({ models: {} })).rejects.toThrow(
      /models: must hold at least one model/,
    );
    await expect(serveVariant({ models: { "bad name": () => ({ label: "x" }) } })).rejects.toThrow(
      /models\.bad name: name must be/,
    );
    await expect(serveVariant({ models: { m: {} as never } })).rejects.toThrow(
      /models\.m: must be a function or an object with predict/,
    );
    await expect(serveVariant({ models: { m: () => ({ label: "x" }) }, port: -1 })).rejects.toThrow(
      /port: must be an integer/,
    );
  });
});

describe("the Mirror stream of serveVariant", () => {
  it("answers 500 concurrent calls on one stream, each with its own answer", async () => {
    const server = await start({
      models: {
        echo: async (input: unknown, ctx: ModelContext) => {
          // Finish in an order unrelated to arrival.
          await new Promise((r) => setTimeout(r, (Number((input as { n: number }).n) * 7919) % 13));
          return { label: ctx.requestId, text: String((input as { n: number }).n) };
        },
      },
    });
    const c = connect(server, "echo", { transport: "stream" });
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, n) => c.infer({ n }, { requestId: `call-${n}` })),
    );
    expect(results.map((r) => [r.id, r.output.label, r.output.text])).toEqual(
      Array.from({ length: 500 }, (_, n) => [`call-${n}`, `call-${n}`, String(n)]),
    );
    expect(c.stats()).toMatchObject({ streamOpens: 1, streamFailures: 0, inFlight: 0 });
  });

  it("answers a failed call on the stream without ending the stream", async () => {
    const server = await start({ models: { echo } });
    const bad = connect(server, "nope", { transport: "stream" });
    expect((await rejection(bad.infer([1]))).code).toBe("not_found");
    const good = connect(server, "echo", { transport: "stream" });
    await good.infer([1]);
    await good.infer([1]);
    expect(bad.stats()).toMatchObject({ streamOpens: 1, streamFailures: 0 });
    expect(good.stats()).toMatchObject({ streamOpens: 1, streamFailures: 0 });
  });

  it("closes open streams on shutdown so clients see the end", async () => {
    const server = await serveVariant({ models: { echo } });
    const c = connect(server, "echo", { transport: "stream" });
    await c.infer([1]);
    expect(server.stats().streams).toBe(1);
    await server.close();
    expect(server.stats().streams).toBe(0);
    expect((await rejection(c.infer([1], { deadlineMs: 2_000 }))).code).toBe("unavailable");
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
