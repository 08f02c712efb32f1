import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { decodePair, type PairRecord, Streams } from "@umbra/protocol";
import {
  connectJetStream,
  generatePairRecords,
  type NatsServer,
  startNats,
  waitFor,
} from "@umbra/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RecordSink } from "../engine/types.ts";
import { createNatsSink } from "./nats-sink.ts";

let nats: NatsServer;
let sink: RecordSink | undefined;

beforeEach(async () => {
  nats = await startNats();
});
afterEach(async () => {
  await sink?.close();
  sink = undefined;
  await nats.stop();
});

async function readAll(expected: number): Promise<PairRecord[]> {
  const conn = await connectJetStream(nats.url);
  try {
    await conn.jsm.consumers.add(Streams.pairs, {
      durable_name: "check",
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
    });
    const info = await conn.jsm.streams.info(Streams.pairs);
    expect(info.state.messages).toBe(expected);
    const consumer = await conn.js.consumers.get(Streams.pairs, "check");
    const out: PairRecord[] = [];
    if (expected === 0) return out;
    for await (const m of await consumer.consume()) {
      out.push(decodePair(m.data));
      if (out.length === expected) break;
    }
    return out;
  } finally {
    await conn.close();
  }
}

describe("NATS sink", () => {
  it("creates the streams and publishes every record exactly once", async () => {
    sink = createNatsSink({ servers: nats.url });
    const records = [...generatePairRecords({ seed: 3, count: 2_000 })];
    for (const r of records) sink.publishPair(r);
    await waitFor(() => sink?.stats().published === 2_000, {
      timeoutMs: 20_000,
      message: "all records acknowledged",
    });
    const back = await readAll(2_000);
    expect(new Set(back.map((r) => `${r.requestId}:${r.variant}`)).size).toBe(2_000);
  });

  it("buffers through a NATS outage and resumes on reconnect, losing and duplicating nothing", async () => {
    sink = createNatsSink({ servers: nats.url, publishTimeoutMs: 500 });
    const records = [...generatePairRecords({ seed: 4, count: 3_000 })];
    for (const r of records.slice(0, 1_000)) sink.publishPair(r);
    await waitFor(() => sink?.stats().published === 1_000, {
      timeoutMs: 20_000,
      message: "first batch acknowledged",
    });
    await nats.restart({
      whileDown: async () => {
        // Production keeps going while NATS is away: publishing never throws or blocks.
        for (const r of records.slice(1_000, 2_000)) sink?.publishPair(r);
        await waitFor(() => (sink?.stats().buffered ?? 0) + (sink?.stats().pendingAcks ?? 0) > 0, {
          timeoutMs: 5_000,
          message: "records held while NATS is down",
        });
      },
    });
    for (const r of records.slice(2_000)) sink.publishPair(r);
    await waitFor(() => sink?.stats().buffered === 0 && sink?.stats().pendingAcks === 0, {
      timeoutMs: 30_000,
      message: "buffer drained after reconnect",
    });
    const back = await readAll(3_000);
    expect(new Set(back.map((r) => `${r.requestId}:${r.variant}`)).size).toBe(3_000);
    expect(sink.stats().droppedBufferFull).toBe(0);
  });

  it("refuses and counts records beyond its buffer while NATS is unreachable", async () => {
    await nats.stop();
    sink = createNatsSink({ servers: nats.url, maxBufferedRecords: 100 });
    for (const r of generatePairRecords({ seed: 5, count: 250 })) sink.publishPair(r);
    expect(sink.stats().buffered).toBe(100);
    expect(sink.stats().droppedBufferFull).toBe(150);
    nats = await startNats();
  });

  it("counts an invalid record instead of publishing or throwing", async () => {
    sink = createNatsSink({ servers: nats.url });
    const bad = {
      ...[...generatePairRecords({ seed: 6, count: 1 })][0],
      requestId: "has space",
    } as PairRecord;
    expect(() => sink?.publishPair(bad)).not.toThrow();
    expect(sink.stats().invalid).toBe(1);
  });
});
