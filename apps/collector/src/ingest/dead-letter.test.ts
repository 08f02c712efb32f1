import { readFileSync } from "node:fs";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  encodeLabel,
  encodePair,
  encodeValue,
  type PairRecord,
  pairMessageId,
  Streams,
  Subjects,
} from "@umbra/protocol";
import {
  connectJetStream,
  connectNats,
  createRandom,
  generatePairRecords,
  type JetStreamConnection,
  type NatsServer,
  startNats,
  waitFor,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { type Collector, createCollector } from "../create-collector.ts";
import { DeadLetterHeaders } from "./dead-letter.ts";

const BAD = new URL("../../../../packages/protocol/fixtures/bad/", import.meta.url);
const MALFORMED = 10_000;
const GOOD = 1_000;

interface Bad {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly kind: "pairs" | "exposures" | "labels";
}

let nats: NatsServer;
let conn: JetStreamConnection;
let nc: NatsConnection;
let collector: Collector;

beforeAll(async () => {
  nats = await startNats();
  conn = await connectJetStream(nats.url);
  nc = await connectNats(nats.url);
  collector = createCollector({
    nc,
    config: loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "dlq",
      UMBRA_CHECKPOINT_INTERVAL_MS: "100",
      UMBRA_LEASE_TTL_MS: "5000",
      UMBRA_DISCOVERY_INTERVAL_MS: "50",
      UMBRA_LOG_LEVEL: "silent",
    }),
  });
  await collector.start();
});

afterAll(async () => {
  await collector?.close();
  await nc?.close();
  await conn?.close();
  await nats?.stop();
});

/** Ten kinds of broken record and more, for every stream the collector reads. */
function malformedCorpus(good: PairRecord): Bad[] {
  const manifest = JSON.parse(readFileSync(new URL("manifest.json", BAD), "utf8")) as {
    kind: string;
    file: string;
  }[];
  const file = (f: string) => new Uint8Array(readFileSync(new URL(f.replace("bad/", ""), BAD)));
  const pairs = Subjects.pairs("ranker", "A");
  const out: Bad[] = [];
  for (const m of manifest) {
    if (m.kind === "pair" || m.kind === "decision") {
      out.push({ subject: pairs, data: file(m.file), kind: "pairs" });
    }
    if (m.kind === "exposure") {
      out.push({ subject: Subjects.exposures("ranker"), data: file(m.file), kind: "exposures" });
    }
    if (m.kind === "label") {
      out.push({ subject: Subjects.labels("ranker"), data: file(m.file), kind: "labels" });
    }
  }
  // A valid pair of another experiment, and of another variant than its subject says.
  out.push({ subject: pairs, data: encodePair({ ...good, experiment: "other" }), kind: "pairs" });
  out.push({ subject: pairs, data: encodePair({ ...good, variant: "B" }), kind: "pairs" });
  // A valid label where a pair belongs, and a pair where a label belongs.
  const label = encodeLabel({
    schema: 1,
    kind: "label",
    experiment: "ranker",
    requestId: "r-1",
    label: "news",
    observedAtMs: 1,
  });
  out.push({ subject: pairs, data: label, kind: "pairs" });
  out.push({ subject: Subjects.labels("ranker"), data: encodePair(good), kind: "labels" });
  // Not a record at all, and a record of a future schema with a field this build never heard of.
  out.push({ subject: pairs, data: encodeValue("just a string"), kind: "pairs" });
  out.push({ subject: pairs, data: encodeValue({ ...good, schema: 9, extra: 1 }), kind: "pairs" });
  out.push({ subject: Subjects.exposures("ranker"), data: new Uint8Array(0), kind: "exposures" });
  return out;
}

describe("dead letters", () => {
  it("dead-letters and counts 10 000 malformed records of varied kinds while good ones flow", async () => {
    const goods = [...generatePairRecords({ seed: 3, count: GOOD, experiment: "ranker" })].filter(
      (r) => r.variant === "A",
    );
    const corpus = malformedCorpus(goods[0] as PairRecord);
    const rng = createRandom(5);
    const expectedByKind = { pairs: 0, exposures: 0, labels: 0 };
    const pending = new Set<Promise<unknown>>();
    const send = async (subject: string, data: Uint8Array, msgID?: string) => {
      const p = conn.js.publish(subject, data, msgID === undefined ? {} : { msgID });
      pending.add(p);
      void p.finally(() => pending.delete(p)).catch(() => undefined);
      if (pending.size >= 256) await Promise.race(pending);
    };
    let good = 0;
    for (let i = 0; i < MALFORMED; i++) {
      // Every seventh bad record is random bytes; the rest cycle through the corpus.
      const bad: Bad =
        i % 7 === 0
          ? {
              subject: Subjects.pairs("ranker", "A"),
              data: new Uint8Array(rng.int(1, 64)).map(() => rng.int(0, 255)),
              kind: "pairs",
            }
          : (corpus[i % corpus.length] as Bad);
      expectedByKind[bad.kind] += 1;
      await send(bad.subject, bad.data);
      if (i % 30 === 0 && good < goods.length) {
        const r = goods[good++] as PairRecord;
        await send(
          Subjects.pairs(r.experiment, r.variant),
          encodePair(r),
          pairMessageId(r.experiment, r.requestId, r.variant),
        );
      }
    }
    await Promise.all(pending);

    const report = await waitFor(
      async () => {
        const r = await collector.report("ranker").catch(() => undefined);
        const dead = r
          ? Object.values(r.counts.deadLetters).reduce(
              (a, byCode) => a + Object.values(byCode).reduce((x, y) => x + y, 0),
              0,
            )
          : 0;
        return r !== undefined && dead === MALFORMED && r.counts.pairs === good ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, message: "every malformed record dead-lettered" },
    );
    expect(report.counts.pairs).toBe(good);
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    expect(sum(report.counts.deadLetters.pairs)).toBe(expectedByKind.pairs);
    expect(sum(report.counts.deadLetters.exposures)).toBe(expectedByKind.exposures);
    expect(sum(report.counts.deadLetters.labels)).toBe(expectedByKind.labels);
    expect(report.counts.deadLetters.pairs.unsupported_version).toBeGreaterThan(0);

    // The DLQ stream holds each one once, with the reason in headers and the original bytes.
    await waitFor(
      async () => (await conn.jsm.streams.info(Streams.deadLetters)).state.messages === MALFORMED,
      { timeoutMs: 30_000, message: "10 000 messages in UMBRA_DLQ" },
    );
    // Pairs, exposures and labels are dead-lettered by separate consumers at the same time, so
    // only the order within one kind is defined: inspect the pairs' dead letters.
    await conn.jsm.consumers.add(Streams.deadLetters, {
      durable_name: "inspect",
      filter_subject: "umbra.dlq.pairs",
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
    });
    const first = await (await conn.js.consumers.get(Streams.deadLetters, "inspect")).next();
    expect(first?.subject).toBe("umbra.dlq.pairs");
    expect(first?.headers?.get(DeadLetterHeaders.subject)).toBe(Subjects.pairs("ranker", "A"));
    expect(first?.headers?.get(DeadLetterHeaders.stream)).toBe(Streams.pairs);
    expect(Number(first?.headers?.get(DeadLetterHeaders.seq))).toBe(1);
    expect(first?.headers?.get(DeadLetterHeaders.code)).toBe("invalid_argument");
    expect(first?.headers?.get(DeadLetterHeaders.field)).toBe("(message)");
    expect(first?.headers?.get(DeadLetterHeaders.message)).toMatch(/^\(message\): /);
    const original = await conn.jsm.streams.getMessage(Streams.pairs, { seq: 1 });
    expect(Buffer.from(first?.data ?? []).equals(Buffer.from(original?.data ?? [1]))).toBe(true);
    expect(first?.data.byteLength).toBeGreaterThan(0);

    // Prometheus counts them by kind and reason.
    const metrics = await collector.metricsText();
    const counted = [
      ...metrics.text.matchAll(/^umbra_collector_dead_lettered_total\{[^}]*\} (\d+)$/gm),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    expect(counted).toBe(MALFORMED);
    expect(metrics.text).toMatch(
      /umbra_collector_dead_lettered_total\{[^}]*kind="exposures"[^}]*reason="invalid_argument"/,
    );
  });
});
