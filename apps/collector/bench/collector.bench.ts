// `npm run bench -- collector [--json] [--n 20000] [--shapes classification,embedding,text]`
//
// Publishes N pair records per output shape into a private nats-server, then measures in the
// same run (a) the raw JetStream consume rate of those messages (consume + ack, no decode) and
// (b) the collector's ingest rate (decode, compare, aggregate, checkpoint, ack), both per core:
// messages ÷ CPU seconds of this process, so the rates do not depend on how busy the other core
// (nats-server) was.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { aggregateOptionsFromSpec, createAggregate, createOutputComparator } from "@umbra/compare";
import { decodePair, encodePair, pairMessageId, Streams, Subjects } from "@umbra/protocol";
import { connectNats, startNats, waitFor } from "@umbra/testing";
import { pino } from "pino";
import { loadConfig } from "../src/config.ts";
import { createCollector } from "../src/create-collector.ts";
import { ensureStreams } from "../src/ingest/ensure-streams.ts";
import { benchRecords, benchSpec, SHAPES, type Shape } from "./bench-records.ts";

interface ShapeResult {
  shape: Shape;
  pairs: number;
  raw_consume_per_s: number;
  raw_consume_wall_per_s: number;
  pairs_per_s: number;
  pairs_wall_per_s: number;
  ingest_ratio: number;
  report_bytes: number;
  /** CPU µs per pair of each step alone, measured in-process on the same records. */
  decode_us: number;
  compare_us: number;
  aggregate_us: number;
}

/** Times decode, compare and aggregate alone over the same records: where ingest time goes. */
function steps(shape: Shape, n: number): { decode: number; compare: number; aggregate: number } {
  const spec = benchSpec(shape);
  const bytes = [...benchRecords(shape, n)].map((r) => encodePair(r));
  const comparator = createOutputComparator({ outputs: spec.outputs });
  const aggregate = createAggregate(aggregateOptionsFromSpec(spec));
  const t0 = performance.now();
  const decoded = bytes.map((b) => decodePair(b));
  const t1 = performance.now();
  const compared = decoded.map((r) => comparator.comparePair(r));
  const t2 = performance.now();
  decoded.forEach((r, i) => {
    aggregate.addPair(r, compared[i]);
  });
  const t3 = performance.now();
  const us = (ms: number) => Number(((ms * 1_000) / n).toFixed(2));
  return { decode: us(t1 - t0), compare: us(t2 - t1), aggregate: us(t3 - t2) };
}

function parseArgs(args: string[]): { json: boolean; n: number; shapes: Shape[] } {
  let n = 20_000;
  let shapes: Shape[] = [...SHAPES];
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json") json = true;
    else if (a === "--n") {
      n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 100) throw new Error("--n: must be an integer >= 100");
    } else if (a === "--shapes") {
      const list = (args[++i] ?? "").split(",");
      for (const s of list) {
        if (!(SHAPES as readonly string[]).includes(s))
          throw new Error(`--shapes: ${s} is not one of ${SHAPES.join(", ")}`);
      }
      shapes = list as Shape[];
    } else throw new Error(`${a}: not an option of the collector bench (--json, --n, --shapes)`);
  }
  return { json, n, shapes };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

async function publish(nc: NatsConnection, shape: Shape, n: number): Promise<void> {
  const js = jetstream(nc);
  const pending = new Set<Promise<unknown>>();
  for (const r of benchRecords(shape, n)) {
    const p = js.publish(Subjects.pairs(r.experiment, r.variant), encodePair(r), {
      msgID: pairMessageId(r.experiment, r.requestId, r.variant),
    });
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    if (pending.size >= 256) await Promise.race(pending);
  }
  await Promise.all(pending);
}

async function rawConsume(nc: NatsConnection, shape: Shape, n: number) {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `raw-${shape}`;
  await jsm.consumers.add(Streams.pairs, {
    durable_name: name,
    filter_subject: `umbra.pairs.bench-${shape}.>`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 10_000,
  });
  const consumer = await js.consumers.get(Streams.pairs, name);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let received = 0;
  let bytes = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const messages = await consumer.consume({
    max_messages: 1_000,
    callback: (m) => {
      bytes += m.data.byteLength;
      m.ack();
      if (++received === n) done();
    },
  });
  await finished;
  const wallS = (performance.now() - t0) / 1_000;
  const cpuS = cpuSeconds(cpu);
  messages.stop();
  await messages.closed();
  await jsm.consumers.delete(Streams.pairs, name);
  return { perCore: n / cpuS, wall: n / wallS, bytes };
}

async function ingest(nc: NatsConnection, url: string, shape: Shape, n: number) {
  const experiment = `bench-${shape}`;
  const collector = createCollector({
    nc,
    config: loadConfig({
      UMBRA_NATS_URL: url,
      UMBRA_REPLICA_ID: `bench-${shape}`,
      UMBRA_LOG_LEVEL: "silent",
    }),
    specs: [benchSpec(shape)],
    logger: pino({ level: "silent" }),
  });
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await collector.start();
  // Done when every pair is applied and a checkpoint covers it (lag 0 after the last apply).
  // Polls the metrics, not the report: building a report is work the measurement must not add.
  await waitFor(
    async () => {
      const ingested = (await collector.metrics.ingested.get()).values.reduce(
        (a, v) => a + v.value,
        0,
      );
      if (ingested < n) return false;
      const lag = await collector.metrics.checkpointLag.get();
      return lag.values.length > 0 && lag.values.every((v) => v.value === 0);
    },
    { timeoutMs: 600_000, intervalMs: 5, message: `${n} ${shape} pairs ingested` },
  );
  const wallS = (performance.now() - t0) / 1_000;
  const cpuS = cpuSeconds(cpu);
  const report = await collector.report(experiment);
  if (report.counts.pairs !== n) {
    throw new Error(`${shape}: the collector aggregated ${report.counts.pairs} pairs, not ${n}`);
  }
  const state = (await collector.report(experiment)) as unknown;
  await collector.close();
  return { perCore: n / cpuS, wall: n / wallS, stateBytes: JSON.stringify(state).length };
}

/** Runs the collector benchmark; see the file header. */
export async function run(args: string[]): Promise<void> {
  const { json, n, shapes } = parseArgs(args);
  const results: ShapeResult[] = [];
  // One small unmeasured round first, so the JIT has compiled the consume, decode and compare
  // paths before any shape is measured (otherwise the first shape pays for the warm-up).
  for (const shape of shapes) await measure(shape, Math.min(n, 3_000));
  for (const shape of shapes) {
    results.push(await measure(shape, n));
  }
  report(results, n, json);
}

async function measure(shape: Shape, n: number): Promise<ShapeResult> {
  {
    // A fresh server per shape, so one shape's stream size does not slow the next.
    const nats = await startNats();
    const nc = await connectNats(nats.url);
    try {
      await ensureStreams(await jetstreamManager(nc), {
        duplicateWindowMs: 120_000,
        maxAgeMs: 86_400_000,
        replicas: 1,
      });
      await publish(nc, shape, n);
      const raw = await rawConsume(nc, shape, n);
      const ing = await ingest(nc, nats.url, shape, n);
      const step = steps(shape, n);
      return {
        shape,
        pairs: n,
        raw_consume_per_s: Math.round(raw.perCore),
        raw_consume_wall_per_s: Math.round(raw.wall),
        pairs_per_s: Math.round(ing.perCore),
        pairs_wall_per_s: Math.round(ing.wall),
        ingest_ratio: Number((ing.perCore / raw.perCore).toFixed(3)),
        report_bytes: ing.stateBytes,
        decode_us: step.decode,
        compare_us: step.compare,
        aggregate_us: step.aggregate,
      };
    } finally {
      await nc.close();
      await nats.stop();
    }
  }
}

function report(results: ShapeResult[], n: number, json: boolean): void {
  const cls = results.find((r) => r.shape === "classification") ?? results[0];
  if (json) {
    console.log(
      JSON.stringify({
        pairs_per_s: cls?.pairs_per_s,
        raw_consume_per_s: cls?.raw_consume_per_s,
        ingest_ratio: cls?.ingest_ratio,
        n,
        shapes: results,
      }),
    );
    return;
  }
  console.log(
    `collector bench: ${n} pairs per shape, rates per core (messages / CPU s of this process)\n`,
  );
  console.log(
    "| shape | raw consume+ack /s | ingest /s | ingest ÷ raw | raw wall /s | ingest wall /s | raw µs | ingest µs | decode µs | compare µs | aggregate µs |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const per = (rate: number) => (1e6 / rate).toFixed(1);
    console.log(
      `| ${r.shape} | ${r.raw_consume_per_s} | ${r.pairs_per_s} | ${r.ingest_ratio} | ${r.raw_consume_wall_per_s} | ${r.pairs_wall_per_s} | ${per(r.raw_consume_per_s)} | ${per(r.pairs_per_s)} | ${r.decode_us} | ${r.compare_us} | ${r.aggregate_us} |`,
    );
  }
}
