import type { NatsConnection } from "@nats-io/transport-node";
import {
  type ExposureRecord,
  encodeExposure,
  encodeLabel,
  encodePair,
  type PairRecord,
  pairMessageId,
  Subjects,
} from "@umbra/protocol";
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
import { loadConfig } from "../config.ts";
import { type Collector, createCollector } from "../create-collector.ts";
import { type HttpServer, serveHttp } from "../http/serve-http.ts";
import type { ExperimentReport } from "./experiment-report.ts";

const TOKEN = "report-test-admin-token";

const COUNT = 1_500;
const DAY_MS = 86_400_000;

let nats: NatsServer;
let conn: JetStreamConnection;
let nc: NatsConnection;
let collector: Collector;
let http: HttpServer;

const spec = {
  schema: 1,
  experiment: "ranker",
  live: "prod",
  variants: {
    prod: { target: { kind: "local" } },
    A: { target: { kind: "local" } },
    B: { target: { kind: "local" } },
    C: { target: { kind: "local" } },
  },
  outputs: { label: { kind: "label" } },
  segments: [{ attribute: "device" }],
  criteria: { minSamples: 10, minDurationMs: 0 },
  labels: { horizonsMs: [DAY_MS, 3 * DAY_MS] },
};

beforeAll(async () => {
  nats = await startNats();
  conn = await connectJetStream(nats.url);
  nc = await connectNats(nats.url);
  collector = createCollector({
    nc,
    config: loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "report",
      UMBRA_ADMIN_TOKEN: TOKEN,
      UMBRA_CHECKPOINT_INTERVAL_MS: "100",
      UMBRA_DISCOVERY_INTERVAL_MS: "50",
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
  await conn?.close();
  await nats?.stop();
});

/** Wilson score interval, written out here so the test does not trust the code it checks. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

const labelOf = (output: unknown) => (output as { label: string }).label;

describe("the experiment report", () => {
  it("equals an independent computation over the same published records", async () => {
    const registered = await fetch(`${http.url}/experiments/ranker`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(spec),
    });
    expect(registered.status).toBe(201);

    const records: PairRecord[] = [...generatePairRecords({ seed: 21, count: COUNT })].map(
      (r, i) => (i % 97 === 0 ? { ...r, sideEffectAttempts: 2 } : r),
    );
    for (const r of records) {
      await conn.js.publish(Subjects.pairs(r.experiment, r.variant), encodePair(r), {
        msgID: pairMessageId(r.experiment, r.requestId, r.variant),
      });
    }
    const planned = { A: 530, B: 520, C: 510 };
    const exposure: ExposureRecord = {
      schema: 1,
      kind: "exposure",
      experiment: "ranker",
      sdkInstanceId: "sdk-1",
      seq: 1,
      windowStartMs: 1_763_800_000_000,
      windowEndMs: 1_763_800_010_000,
      entries: [
        {
          plan: "prod+A+B+C",
          segment: { device: "mobile" },
          requests: 600,
          mirrors: Object.fromEntries(
            Object.entries(planned).map(([v, n]) => [
              v,
              { planned: n, dispatched: n, dropped: {} },
            ]),
          ),
        },
      ],
    };
    await conn.js.publish(Subjects.exposures("ranker"), encodeExposure(exposure));
    // Labels for every other request: half an hour after, or four days after (past both horizons).
    const labelled = records.filter((_, i) => i % 2 === 0);
    for (const [i, r] of labelled.entries()) {
      await conn.js.publish(
        Subjects.labels("ranker"),
        encodeLabel({
          schema: 1,
          kind: "label",
          experiment: "ranker",
          requestId: r.requestId,
          label: i % 10 === 0 ? "sports" : labelOf(r.production.output),
          observedAtMs: r.requestTimestampMs + (i % 25 === 0 ? 4 * DAY_MS : 1_800_000),
        }),
      );
    }

    const report = await waitFor(
      async () => {
        const res = await fetch(`${http.url}/experiments/ranker/report`);
        const r = (await res.json()) as ExperimentReport;
        return r.counts?.pairs === COUNT &&
          r.counts.exposures === 1 &&
          r.counts.labels === labelled.length
          ? r
          : undefined;
      },
      { timeoutMs: 20_000, message: "every record in the report" },
    );

    expect(report.spec.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(report.comparison.variants.map((v) => v.variant)).toEqual(["A", "B", "C"]);
    for (const v of report.comparison.variants) {
      const mine = records.filter((r) => r.variant === v.variant);
      const ok = mine.filter((r) => r.shadow.outcome === "ok");
      const divergent = ok.filter(
        (r) => labelOf(r.production.output) !== labelOf(r.shadow.output),
      ).length;
      expect(v.pairs).toBe(mine.length);
      expect(v.compared).toBe(ok.length);
      expect(v.divergence.successes).toBe(divergent);
      expect(v.divergence.rate).toBeCloseTo(divergent / ok.length, 12);
      const [lower, upper] = wilson(divergent, ok.length);
      expect(v.divergence.lower).toBeCloseTo(lower, 9);
      expect(v.divergence.upper).toBeCloseTo(upper, 9);
      for (const outcome of ["error", "timeout"] as const) {
        const n = mine.filter((r) => r.shadow.outcome === outcome).length;
        expect(v.outcomes[outcome]).toBe(n);
      }
      expect(v.errorRate.rate).toBeCloseTo(v.outcomes.error / mine.length, 12);
      const notSent = mine.filter((r) =>
        ["dropped", "rejected_by_breaker", "skipped_unhealthy"].includes(r.shadow.outcome),
      ).length;
      expect(v.dropRate.successes).toBe(notSent);
      expect(v.coverage.plannedMirrors).toBe(planned[v.variant as keyof typeof planned]);
      expect(v.coverage.ratio).toBeCloseTo(
        ok.length / planned[v.variant as keyof typeof planned],
        12,
      );
      expect(v.sideEffectAttempts).toBe(mine.reduce((a, r) => a + r.sideEffectAttempts, 0));
      expect(v.warmup).toBe(mine.filter((r) => r.warmup).length);
      // HDR histograms keep 2 significant digits: within 1% of the exact quantile.
      const shadowLatencies = ok.filter((r) => !r.warmup).map((r) => r.shadow.latencyMs as number);
      expect(v.latencyMs.shadow.count).toBe(shadowLatencies.length);
      const p99 = quantile(shadowLatencies, 0.99);
      expect(Math.abs((v.latencyMs.shadow.p99 as number) - p99) / p99).toBeLessThan(0.011);
      const productionLatencies = mine.filter((r) => !r.warmup).map((r) => r.production.latencyMs);
      const pp99 = quantile(productionLatencies, 0.99);
      expect(Math.abs((v.latencyMs.production.p99 as number) - pp99) / pp99).toBeLessThan(0.011);
      const devices = new Set(mine.map((r) => r.segment.device));
      expect(
        new Set(v.segments.filter((s) => s.attribute === "device").map((s) => s.value)),
      ).toEqual(devices);
    }

    // Labels: accuracy per variant within each horizon, late ones left out.
    const labelByRequest = new Map(
      labelled.map((r, i) => [
        r.requestId,
        {
          label: i % 10 === 0 ? "sports" : labelOf(r.production.output),
          late: i % 25 === 0,
        },
      ]),
    );
    for (const variant of ["A", "B", "C"]) {
      const joined = records.filter(
        (r) => r.variant === variant && labelByRequest.get(r.requestId)?.late === false,
      );
      const prodCorrect = joined.filter(
        (r) => labelOf(r.production.output) === labelByRequest.get(r.requestId)?.label,
      ).length;
      const shadowCorrect = joined.filter(
        (r) =>
          r.shadow.outcome === "ok" &&
          labelOf(r.shadow.output) === labelByRequest.get(r.requestId)?.label,
      ).length;
      const quality = report.labels.variants[variant]?.[0];
      expect(joined.length).toBeGreaterThan(0);
      expect(quality?.labelled).toBe(joined.length);
      expect(quality?.productionAccuracy.correct).toBe(prodCorrect);
      expect(quality?.shadowAccuracy.correct).toBe(shadowCorrect);
    }
    expect(report.labels.counts.late).toBe(
      records.filter((r) => labelByRequest.get(r.requestId)?.late === true).length,
    );

    // Examples: divergent ones of the asked variant, and the JSONL export of them all.
    const examples = (await (
      await fetch(`${http.url}/experiments/ranker/examples?variant=B&limit=5`)
    ).json()) as { total: number; examples: { variant: string; requestId: string }[] };
    expect(examples.examples.length).toBe(Math.min(5, examples.total));
    expect(examples.examples.every((e) => e.variant === "B")).toBe(true);
    const exported = await fetch(`${http.url}/experiments/ranker/export`);
    const lines = (await exported.text()).trim().split("\n");
    expect(lines.length).toBe(Number(exported.headers.get("x-umbra-total")));
    const divergentIds = new Set(
      records
        .filter(
          (r) =>
            r.shadow.outcome === "ok" && labelOf(r.production.output) !== labelOf(r.shadow.output),
        )
        .map((r) => r.requestId),
    );
    for (const line of lines) {
      expect(divergentIds.has((JSON.parse(line) as { requestId: string }).requestId)).toBe(true);
    }
  });

  it("says so when an experiment without a spec is compared with structured equality", async () => {
    const [r] = [...generatePairRecords({ seed: 4, count: 1, experiment: "nospec" })];
    if (r === undefined) throw new Error("no record");
    await conn.js.publish(Subjects.pairs(r.experiment, r.variant), encodePair(r));
    const report = await waitFor(
      async () => {
        const res = await fetch(`${http.url}/experiments/nospec/report`);
        const body = (await res.json()) as ExperimentReport;
        return res.ok && body.counts.pairs === 1 ? body : undefined;
      },
      { timeoutMs: 10_000, message: "nospec report" },
    );
    expect(report.spec.hash).toBeNull();
    expect(report.spec.note).toContain("no spec registered");
  });
});
