import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { decodePair, type PairRecord, Streams } from "@umbra/protocol";
import { connectJetStream } from "@umbra/testing";

/** Every pair record of an experiment in the stream, read with an ordered consumer. */
export async function readPairs(natsUrl: string, experiment: string): Promise<PairRecord[]> {
  const conn = await connectJetStream(natsUrl);
  try {
    const subject = `umbra.pairs.${experiment}.>`;
    const info = await conn.jsm.streams.info(Streams.pairs, { subjects_filter: subject });
    const expected = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    const out: PairRecord[] = [];
    if (expected === 0) return out;
    // A fresh consumer filtered on the experiment (Debian's nats-server 2.9 has no multi-filter
    // ordered consumers).
    const name = `read-${experiment}-${Date.now()}`;
    await conn.jsm.consumers.add(Streams.pairs, {
      name,
      filter_subject: subject,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: 60_000_000_000,
    });
    const consumer = await conn.js.consumers.get(Streams.pairs, name);
    for await (const m of await consumer.consume()) {
      out.push(decodePair(m.data));
      if (out.length === expected) break;
    }
    return out;
  } finally {
    await conn.close();
  }
}

/** Groups records by variant, then by request id; fails on a duplicate (exactly one record per mirror). */
export function byVariant(records: readonly PairRecord[]): Map<string, Map<string, PairRecord>> {
  const out = new Map<string, Map<string, PairRecord>>();
  for (const r of records) {
    let m = out.get(r.variant);
    if (m === undefined) {
      m = new Map();
      out.set(r.variant, m);
    }
    if (m.has(r.requestId)) throw new Error(`two records for ${r.requestId}:${r.variant}`);
    m.set(r.requestId, r);
  }
  return out;
}
