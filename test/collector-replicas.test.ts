// Issue: the collector. Replicas share the work: two collector processes split the experiments
// between them (per-experiment leases), and their reports total exactly what one collector
// reports over the same records — also when one of them is killed half way.
import type { PairRecord } from "@umbra/protocol";
import {
  connectJetStream,
  generatePairRecords,
  type NatsServer,
  startNats,
  waitFor,
} from "@umbra/testing";
import { afterAll, describe, expect, it } from "vitest";
import { type CollectorProcess, startCollectorProcess } from "./collector-process.ts";
import { getJson, type Outgoing, pairMessage, publishAll, uniqueIds } from "./publish-records.ts";

interface Report {
  experiment: string;
  counts: { pairs: number };
  generatedAtMs?: number;
  source?: string;
  owner?: string | null;
}
interface Health {
  experiments: string[];
}

const EXPERIMENTS = ["alpha", "beta", "gamma", "delta"] as const;
const PER_EXPERIMENT = 1_000;
const servers: NatsServer[] = [];
const processes: CollectorProcess[] = [];

afterAll(async () => {
  for (const p of processes) await p.kill();
  for (const s of servers) await s.stop();
});

function messages(from: number, to: number): Outgoing[] {
  const lists: PairRecord[][] = EXPERIMENTS.map((experiment, i) => [
    ...uniqueIds(generatePairRecords({ seed: 7 + i, count: PER_EXPERIMENT, experiment })),
  ]);
  const out: Outgoing[] = [];
  for (let i = from; i < to; i++) for (const l of lists) out.push(pairMessage(l[i] as PairRecord));
  return out;
}

const env = {
  UMBRA_CHECKPOINT_INTERVAL_MS: "100",
  UMBRA_LEASE_TTL_MS: "1500",
  UMBRA_DISCOVERY_INTERVAL_MS: "100",
};

async function complete(url: string): Promise<Report[]> {
  return Promise.all(
    EXPERIMENTS.map((e) =>
      waitFor(
        async () => {
          const r = await getJson<Report>(`${url}/experiments/${e}/report`);
          return r.counts.pairs === PER_EXPERIMENT ? r : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50, message: `${e} complete at ${url}` },
      ),
    ),
  );
}

function comparable(r: Report): Report {
  const { generatedAtMs: _g, source: _s, owner: _o, ...rest } = r;
  return rest as Report;
}

describe("collector replicas", () => {
  it("split the experiments between two replicas and total the same as one", async () => {
    const soloNats = await startNats();
    servers.push(soloNats);
    const solo = await startCollectorProcess({ natsUrl: soloNats.url, replicaId: "solo", env });
    processes.push(solo);
    const soloConn = await connectJetStream(soloNats.url);
    await publishAll(soloConn.js, messages(0, PER_EXPERIMENT));
    await soloConn.close();
    const soloReports = await complete(solo.url);

    const nats = await startNats();
    servers.push(nats);
    const conn = await connectJetStream(nats.url);
    const [r1, r2] = await Promise.all([
      startCollectorProcess({ natsUrl: nats.url, replicaId: "r1", env }),
      startCollectorProcess({ natsUrl: nats.url, replicaId: "r2", env }),
    ]);
    processes.push(r1, r2);
    await publishAll(conn.js, messages(0, PER_EXPERIMENT / 2));
    // Both replicas hold a share: two experiments each.
    const shares = await waitFor(
      async () => {
        const [h1, h2] = await Promise.all([
          getJson<Health>(`${r1.url}/healthz`),
          getJson<Health>(`${r2.url}/healthz`),
        ]);
        return h1.experiments.length === 2 && h2.experiments.length === 2
          ? [h1.experiments, h2.experiments]
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, message: "two experiments per replica" },
    );
    expect(new Set(shares.flat())).toEqual(new Set(EXPERIMENTS));

    // One replica dies; the other takes its experiments over once the leases expire.
    await r1.kill();
    await publishAll(conn.js, messages(PER_EXPERIMENT / 2, PER_EXPERIMENT));
    await conn.close();
    const reports = await complete(r2.url);
    expect(reports.map(comparable)).toEqual(soloReports.map(comparable));
    expect((await getJson<Health>(`${r2.url}/healthz`)).experiments.sort()).toEqual(
      [...EXPERIMENTS].sort(),
    );
  });
});
