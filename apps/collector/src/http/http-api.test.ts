import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats, type NatsServer, startNats } from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { type Collector, createCollector } from "../create-collector.ts";
import { type HttpServer, serveHttp } from "./serve-http.ts";

let nats: NatsServer;
let nc: NatsConnection;
let collector: Collector;
let http: HttpServer;

const TOKEN = "http-test-admin-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

const spec = {
  schema: 1,
  experiment: "ranker",
  live: "prod",
  variants: { prod: { target: { kind: "local" } }, A: { target: { kind: "local" } } },
  outputs: { label: { kind: "label" } },
  segments: [],
  criteria: { minSamples: 10, minDurationMs: 0 },
};

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats(nats.url);
  collector = createCollector({
    nc,
    config: loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "http",
      UMBRA_ADMIN_TOKEN: TOKEN,
      UMBRA_LOG_LEVEL: "silent",
    }),
  });
  await collector.start();
  http = await serveHttp(collector.handler, { host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  await http?.close();
  await collector?.close();
  await nc?.close();
  await nats?.stop();
});

async function call(
  path: string,
  init: RequestInit = {},
): Promise<{
  status: number;
  body: { error?: { code: string; field?: string; message: string } } & Record<string, unknown>;
}> {
  const res = await fetch(`${http.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : { text } };
}

const put = (path: string, body: unknown, type = "application/json") =>
  call(path, {
    method: "PUT",
    headers: { "content-type": type, ...AUTH },
    body: JSON.stringify(body),
  });

describe("HTTP API validation", () => {
  it("registers a valid spec with 201, then answers 200 unchanged for the same spec", async () => {
    const first = await put("/experiments/ranker", spec);
    expect(first.status).toBe(201);
    expect(first.body.change).toBe("created");
    const again = await put("/experiments/ranker", spec);
    expect(again.status).toBe(200);
    expect(again.body.change).toBe("unchanged");
    const read = await call("/experiments/ranker/spec");
    expect(read.body.specHash).toBe(first.body.specHash);
  });

  it("refuses a spec with a broken criterion, naming the field in the body", async () => {
    const r = await put("/experiments/ranker", {
      ...spec,
      criteria: { ...spec.criteria, alpha: 2 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe("invalid_argument");
    expect(r.body.error?.field).toBe("body/criteria/alpha");
  });

  it("refuses a spec whose experiment differs from the path", async () => {
    const r = await put("/experiments/other", spec);
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe("body/experiment");
  });

  it("refuses a body that is not JSON, or not sent as JSON", async () => {
    const bad = await call("/experiments/ranker", {
      method: "PUT",
      headers: { "content-type": "application/json", ...AUTH },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe("body");
    const type = await put("/experiments/ranker", spec, "text/plain");
    expect(type.status).toBe(400);
    expect(type.body.error?.field).toBe("header.content-type");
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const r = await put("/experiments/ranker", { ...spec, description: "x".repeat(1_100_000) });
    expect(r.status).toBe(413);
    expect(r.body.error?.code).toBe("payload_too_large");
  });

  it("names the path segment when the experiment is not a subject token", async () => {
    const r = await call("/experiments/bad.name/report");
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe("path.experiment");
  });

  it("answers 404 for an experiment nobody has heard of and for an unknown route", async () => {
    expect((await call("/experiments/nobody/report")).status).toBe(404);
    expect((await call("/experiments/ranker/nothing")).status).toBe(404);
    expect((await call("/nothing")).status).toBe(404);
  });

  it("names the query parameter that breaks a rule or is not a parameter at all", async () => {
    const variant = await call("/experiments/ranker/examples?variant=a.b");
    expect(variant.status).toBe(400);
    expect(variant.body.error?.field).toBe("query.variant");
    const limit = await call("/experiments/ranker/examples?limit=0");
    expect(limit.body.error?.field).toBe("query.limit");
    const segment = await call("/experiments/ranker/examples?segment=device");
    expect(segment.body.error?.field).toBe("query.segment");
    const divergent = await call("/experiments/ranker/export?divergent=maybe");
    expect(divergent.body.error?.field).toBe("query.divergent");
    const unknown = await call("/experiments/ranker/report?verbose=1");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.field).toBe("query.verbose");
    const twice = await call("/experiments/ranker/examples?limit=1&limit=2");
    expect(twice.body.error?.field).toBe("query.limit");
  });

  it("answers 405 naming the allowed methods", async () => {
    const r = await call("/experiments/ranker/report", { method: "DELETE" });
    expect(r.status).toBe(405);
    expect(r.body.error?.message).toContain("allowed: GET");
  });

  it("serves health, Prometheus metrics and the experiment list", async () => {
    const health = await call("/healthz");
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("ok");
    const metrics = await fetch(`${http.url}/metrics`);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(await metrics.text()).toContain("umbra_collector_experiments_owned");
    const list = await call("/experiments");
    expect((list.body.experiments as { experiment: string }[]).map((e) => e.experiment)).toContain(
      "ranker",
    );
  });

  it("renders the report page as HTML with the experiment name escaped", async () => {
    const res = await fetch(`${http.url}/experiments/ranker`);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("<h1>Umbra · ranker</h1>");
  });
});

describe("HTTP API authorization and promotion routes", () => {
  const post = (path: string, body: unknown, headers: Record<string, string> = AUTH) =>
    call(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  it("answers 401 with a Bearer challenge without a token, and 403 with a wrong one", async () => {
    const none = await fetch(`${http.url}/experiments/ranker/promote`, { method: "POST" });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="umbra"');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
    const wrong = await post("/experiments/ranker/promote", {}, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error?.code).toBe("permission_denied");
    const basic = await post("/experiments/ranker/rollback", {}, { authorization: "Basic abc" });
    expect(basic.status).toBe(401);
    const spec401 = await call("/experiments/ranker", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(spec),
    });
    expect(spec401.status).toBe(401);
  });

  it("validates a command's body, naming the field", async () => {
    const variant = await post("/experiments/ranker/promote", { variant: "a.b" });
    expect(variant.status).toBe(400);
    expect(variant.body.error?.field).toBe("body.variant");
    const extra = await post("/experiments/ranker/hold", { variant: "A", force: true });
    expect(extra.body.error?.field).toBe("body.force");
    const by = await post("/experiments/ranker/hold", { by: "two words" });
    expect(by.body.error?.field).toBe("body.by");
    const method = await call("/experiments/ranker/approve", { method: "GET" });
    expect(method.status).toBe(405);
  });

  it("says promotion is off in the status, and refuses commands, without a flag file", async () => {
    const status = await call("/experiments/ranker/status");
    expect(status.status).toBe(200);
    expect(status.body.promotion).toBe("off");
    expect(String(status.body.summary)).toContain("UMBRA_FLAG_FILE");
    const command = await post("/experiments/ranker/promote", { variant: "A" });
    expect(command.status).toBe(503);
    expect(command.body.error?.message).toContain("UMBRA_FLAG_FILE");
    const decisions = await call("/experiments/ranker/decisions?version=current");
    expect(decisions.body).toMatchObject({ experiment: "ranker", total: 0, records: [] });
    const badVersion = await call("/experiments/ranker/decisions?version=latest");
    expect(badVersion.body.error?.field).toBe("query.version");
  });

  it("is read-only without UMBRA_ADMIN_TOKEN: every mutating endpoint answers 403", async () => {
    const readOnly = createCollector({
      nc,
      config: loadConfig({
        UMBRA_NATS_URL: nats.url,
        UMBRA_REPLICA_ID: "read-only",
        UMBRA_LOG_LEVEL: "silent",
      }),
    });
    await readOnly.start();
    const server = await serveHttp(readOnly.handler, { host: "127.0.0.1", port: 0 });
    try {
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as { readOnly: boolean };
      expect(health.readOnly).toBe(true);
      for (const [method, path] of [
        ["PUT", "/experiments/ranker"],
        ["POST", "/experiments/ranker/promote"],
        ["POST", "/experiments/ranker/rollback"],
      ] as const) {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: { "content-type": "application/json", ...AUTH },
          body: JSON.stringify(method === "PUT" ? spec : {}),
        });
        expect(res.status).toBe(403);
        const body = (await res.json()) as { error: { message: string } };
        expect(body.error.message).toContain("read-only");
      }
    } finally {
      await server.close();
      await readOnly.close();
    }
  });
});
