import { createCollector, loadConfig, serveHttp } from "@umbra/collector";
import { encodePair, pairMessageId, Subjects } from "@umbra/protocol";
import { connectJetStream, generatePairRecords, startNats, waitFor } from "@umbra/testing";

// A private nats-server for the example; in production, UMBRA_NATS_URL points at your NATS.
await using nats = await startNats();
const conn = await connectJetStream(nats.url);
const collector = createCollector({
  nc: conn.nc,
  config: loadConfig({ UMBRA_NATS_URL: nats.url, UMBRA_REPLICA_ID: "quick-start" }),
});
await collector.start(); // streams, buckets, leases, consumers
const http = await serveHttp(collector.handler, { host: "127.0.0.1", port: 0 });
try {
  // What the SDK does in serving code: one pair record per (request, shadow variant).
  for (const pair of generatePairRecords({ seed: 1, count: 300, experiment: "ranker" })) {
    await conn.js.publish(Subjects.pairs(pair.experiment, pair.variant), encodePair(pair), {
      msgID: pairMessageId(pair.experiment, pair.requestId, pair.variant),
    });
  }
  const report = await waitFor(
    async () => {
      const res = await fetch(`${http.url}/experiments/ranker/report`);
      const body = (await res.json()) as { counts: { pairs: number } };
      return body.counts.pairs === 300 ? body : undefined;
    },
    { timeoutMs: 10_000, message: "300 pairs in the report" },
  );
  console.log(`report of ranker: ${report.counts.pairs} pairs`);
} finally {
  await http.close();
  await collector.close();
  await conn.close();
}
