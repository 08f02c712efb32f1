// `npm run demo`. Until the SDK and the collector close the loop, the demo runs the most complete
// thing that exists: a private nats-server, pair records published through JetStream and read back,
// and a side-by-side summary of what came back. It says so when it starts.
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { decodePair, encodePair, pairMessageId, Streams, Subjects } from "@umbra/protocol";
import { connectJetStream, generatePairRecords, startNats } from "@umbra/testing";

const COUNT = 3_000;

async function main(): Promise<void> {
  console.log("Umbra demo (interim): the wire contract end to end on a private nats-server.");
  console.log(
    "The full demo (SDK + variants + collector + promotion) replaces this as those parts land.\n",
  );
  const nats = await startNats();
  const conn = await connectJetStream(nats.url);
  try {
    console.log(`nats-server pid ${nats.pid} on ${nats.url} (JetStream, store ${nats.storeDir})`);
    await conn.jsm.streams.add({ name: Streams.pairs, subjects: [Subjects.wildcard.pairs] });
    const pending = new Set<Promise<unknown>>();
    for (const r of generatePairRecords({ seed: 1, count: COUNT })) {
      const p = conn.js.publish(Subjects.pairs(r.experiment, r.variant), encodePair(r), {
        msgID: pairMessageId(r.requestId, r.variant),
      });
      pending.add(p);
      p.finally(() => pending.delete(p));
      if (pending.size >= 256) await Promise.race(pending);
    }
    await Promise.all(pending);
    console.log(`published ${COUNT} pair records to ${Subjects.wildcard.pairs}`);

    await conn.jsm.consumers.add(Streams.pairs, {
      durable_name: "demo",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await conn.js.consumers.get(Streams.pairs, "demo");
    const table = new Map<
      string,
      { pairs: number; ok: number; agree: number; shadowMs: number[] }
    >();
    let read = 0;
    for await (const m of await consumer.consume()) {
      const r = decodePair(m.data);
      m.ack();
      const row = table.get(r.variant) ?? { pairs: 0, ok: 0, agree: 0, shadowMs: [] };
      row.pairs++;
      if (r.shadow.outcome === "ok") {
        row.ok++;
        row.shadowMs.push(r.shadow.latencyMs ?? 0);
        const prod = r.production.output as { label?: string };
        const shadow = r.shadow.output as { label?: string };
        if (prod.label === shadow.label) row.agree++;
      }
      table.set(r.variant, row);
      if (++read === COUNT) break;
    }
    console.log(`read back ${read} records, every one decoded and validated\n`);
    const p99 = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? 0;
    console.log(
      ["variant", "pairs", "ok", "label agreement", "shadow p99 ms"]
        .map((h) => h.padEnd(16))
        .join(""),
    );
    for (const [v, row] of [...table].sort()) {
      console.log(
        [
          v,
          row.pairs,
          row.ok,
          `${((100 * row.agree) / Math.max(row.ok, 1)).toFixed(1)}%`,
          p99(row.shadowMs).toFixed(1),
        ]
          .map((c) => String(c).padEnd(16))
          .join(""),
      );
    }
  } finally {
    await conn.close();
    await nats.stop();
  }
  console.log("\nnats-server stopped; nothing left running.");
}

await main();
