// Issue: the wire contract end to end. 10 000 pair records go through a private JetStream stream
// and come back identical, exactly once each.
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import {
  decodePair,
  encodePair,
  type PairRecord,
  pairMessageId,
  Streams,
  Subjects,
} from "@umbra/protocol";
import {
  connectJetStream,
  generatePairRecords,
  type JetStreamConnection,
  type NatsServer,
  startNats,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const COUNT = 10_000;
const WINDOW = 256;

let nats: NatsServer;
let conn: JetStreamConnection;

beforeAll(async () => {
  nats = await startNats();
  conn = await connectJetStream(nats.url);
  await conn.jsm.streams.add({
    name: Streams.pairs,
    subjects: [Subjects.wildcard.pairs],
    duplicate_window: 120_000_000_000,
  });
});

afterAll(async () => {
  await conn?.close();
  await nats?.stop();
});

describe("pair records through JetStream", () => {
  it("publishes 10 000 pair records and reads back exactly 10 000 identical records", async () => {
    const sent = new Map<string, PairRecord>();
    const pending = new Set<Promise<unknown>>();
    for (const record of generatePairRecords({ seed: 7, count: COUNT })) {
      const id = pairMessageId(record.experiment, record.requestId, record.variant);
      sent.set(id, record);
      const p = conn.js.publish(
        Subjects.pairs(record.experiment, record.variant),
        encodePair(record),
        { msgID: id },
      );
      pending.add(p);
      p.finally(() => pending.delete(p));
      if (pending.size >= WINDOW) await Promise.race(pending);
    }
    await Promise.all(pending);

    // Publishing the first 100 again with the same message ids must not add anything.
    let duplicates = 0;
    for (const [id, record] of [...sent].slice(0, 100)) {
      const ack = await conn.js.publish(
        Subjects.pairs(record.experiment, record.variant),
        encodePair(record),
        { msgID: id },
      );
      if (ack.duplicate) duplicates++;
    }
    expect(duplicates).toBe(100);
    expect((await conn.jsm.streams.info(Streams.pairs)).state.messages).toBe(COUNT);

    await conn.jsm.consumers.add(Streams.pairs, {
      durable_name: "roundtrip",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await conn.js.consumers.get(Streams.pairs, "roundtrip");
    const received = new Map<string, PairRecord>();
    const messages = await consumer.consume({ max_messages: 512 });
    for await (const m of messages) {
      const record = decodePair(m.data);
      const id = m.headers?.get("Nats-Msg-Id") ?? "";
      expect(id).toBe(pairMessageId(record.experiment, record.requestId, record.variant));
      expect(received.has(id)).toBe(false);
      received.set(id, record);
      m.ack();
      if (received.size === COUNT) break;
    }
    expect(received.size).toBe(COUNT);
    for (const [id, record] of sent) expect(received.get(id)).toEqual(record);
  });
});
