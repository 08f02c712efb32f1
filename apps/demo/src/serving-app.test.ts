import { createServer, type Server } from "node:http";
import { BASIS_POINTS, buildExperimentFlag, buildFlagFile, type PairRecord } from "@umbra/protocol";
import { createShadow, oip, type Shadow } from "@umbra/sdk";
import { createFlagFileFixture, type FlagFileFixture, waitFor } from "@umbra/testing";
import { createClassifier, serveVariant, type VariantServer } from "@umbra/variant";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServingApp,
  type IntentAnswer,
  type IntentInput,
  intentInput,
  parsePredictRequest,
  type ServingApp,
} from "./serving-app.ts";

const classes = ["browse", "compare", "buy"];
let variants: VariantServer;
let flags: FlagFileFixture<ReturnType<typeof buildFlagFile>>;
let shadow: Shadow<IntentInput, IntentAnswer>;
let app: ServingApp;
let server: Server;
let url: string;

beforeAll(async () => {
  // Production and a candidate that answers differently on every mobile request, both real
  // Open Inference Protocol models.
  variants = await serveVariant({
    models: {
      prod: createClassifier({ input: "json", classes, weightsSeed: "w" }),
      mobileWrong: createClassifier({
        input: "json",
        classes,
        weightsSeed: "w",
        divergence: { field: "device", value: "mobile" },
      }),
    },
  });
  flags = await createFlagFileFixture(
    buildFlagFile({
      "umbra.intent": buildExperimentFlag({
        experiment: "intent",
        live: "prod",
        candidates: [{ variant: "C", sampleBasisPoints: BASIS_POINTS }],
        revision: 1,
      }),
    }),
  );
  shadow = await createShadow<IntentInput, IntentAnswer>({
    experiment: "intent",
    flags: { file: flags.path },
    sink: "memory",
    engine: "inline",
    defaultVariant: "prod",
    variants: {
      prod: oip(variants.address, "prod"),
      C: oip(variants.address, "mobileWrong"),
    },
    segmentBy: ["device", "region"],
    initTimeoutMs: 10_000,
  });
  app = createServingApp({ shadow });
  server = createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await shadow?.close();
  await variants?.close();
  await flags?.close();
});

const predict = (body: unknown) =>
  fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const request = (requestId: string, device: string) => ({
  requestId,
  features: [0.4, -1.2, 0.3, 0.9, -0.1, 0.5, 1.1, -0.7],
  userId: "user-0001",
  device,
  region: "eu-west",
});

describe("createServingApp", () => {
  it("answers from the live variant and mirrors the request with its device to the candidate", async () => {
    const res = await predict(request("req-mobile-1", "mobile"));
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { requestId: string; label: string; scores: number[] };
    expect(answer.requestId).toBe("req-mobile-1");
    expect(classes).toContain(answer.label);
    expect(answer.scores).toHaveLength(3);

    await shadow.settle(5_000);
    const pair = await waitFor(
      () =>
        ((shadow.records?.pairs ?? []) as PairRecord[]).find((p) => p.requestId === "req-mobile-1"),
      { message: "the pair record of req-mobile-1" },
    );
    expect(pair.segment).toEqual({ device: "mobile", region: "eu-west" });
    expect(pair.production.output).toMatchObject({ label: answer.label });
    // The candidate read the device from the input it was sent: it answered differently.
    expect(pair.shadow.outcome).toBe("ok");
    expect((pair.shadow.output as { label: string }).label).not.toBe(answer.label);
  });

  it("mirrors desktop requests to the same candidate, which then agrees with production", async () => {
    const answer = (await (await predict(request("req-desktop-1", "desktop"))).json()) as {
      label: string;
    };
    await shadow.settle(5_000);
    const pair = await waitFor(() =>
      ((shadow.records?.pairs ?? []) as PairRecord[]).find((p) => p.requestId === "req-desktop-1"),
    );
    expect((pair.shadow.output as { label: string }).label).toBe(answer.label);
  });

  it("refuses a malformed body with 400, naming the field and the rule", async () => {
    const res = await predict({ ...request("req-bad", "mobile"), features: ["x"] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: "invalid_argument",
        field: "features",
        message: "features: must be an array of 1-64 finite numbers",
      },
    });
    const notJson = await fetch(`${url}/predict`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
  });

  it("counts answers by the variant that gave them", async () => {
    const stats = await app.stats();
    expect(stats.answered).toBeGreaterThanOrEqual(2);
    expect(stats.rejected).toBeGreaterThanOrEqual(2);
    expect(stats.byLive).toEqual({ prod: stats.answered });
    const res = await fetch(`${url}/stats`);
    expect(((await res.json()) as { byLive: unknown }).byLive).toEqual(stats.byLive);
  });

  it("serves the SDK's metrics, its health, and 404 for anything else", async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/umbra_live_latency_seconds_count\{[^}]*variant="prod"/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });
});

describe("parsePredictRequest and intentInput", () => {
  it("turns a request into the model input: features f0… plus device and region", () => {
    const r = parsePredictRequest(request("r-1", "tablet"));
    expect(intentInput(r)).toEqual({
      device: "tablet",
      region: "eu-west",
      f0: 0.4,
      f1: -1.2,
      f2: 0.3,
      f3: 0.9,
      f4: -0.1,
      f5: 0.5,
      f6: 1.1,
      f7: -0.7,
    });
  });

  it("names the field and the rule of every bad value", () => {
    expect(() => parsePredictRequest([])).toThrow("body: must be a JSON object");
    expect(() => parsePredictRequest({ ...request("r", "mobile"), requestId: "" })).toThrow(
      "requestId: must be 1-128 printable ASCII characters",
    );
    expect(() => parsePredictRequest({ ...request("r", "mobile"), device: "a phone" })).toThrow(
      "device: must be 1-64 characters of A-Z a-z 0-9 _ . -",
    );
  });
});
