// Issue: the collector. Exactly-once aggregation across crashes: a collector process killed with
// SIGKILL several times while records stream in, and restarted each time, ends with the same
// report as a clean run over the same records.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PairRecord } from "@umbra/protocol";
import {
  connectJetStream,
  generatePairRecords,
  type NatsServer,
  startNats,
  waitFor,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CollectorProcess, startCollectorProcess } from "./collector-process.ts";
import { getJson, type Outgoing, pairMessage, publishAll, uniqueIds } from "./publish-records.ts";

interface Report {
  experiment: string;
  positions: { pairs: number };
  counts: { pairs: number; duplicates: { pairs: number } };
  generatedAtMs?: number;
  source?: string;
  owner?: string | null;
}

const EXPERIMENTS = ["ranker", "search"] as const;
const PER_EXPERIMENT = 3_000;
const KILLS = 4;

let specDir: string;
const servers: NatsServer[] = [];
const processes: CollectorProcess[] = [];

function records(): Outgoing[] {
  const all: PairRecord[][] = EXPERIMENTS.map((experiment, i) => [
    ...uniqueIds(generatePairRecords({ seed: 100 + i, count: PER_EXPERIMENT, experiment })),
  ]);
  const out: Outgoing[] = [];
  for (let i = 0; i < PER_EXPERIMENT; i++) {
    for (const list of all) out.push(pairMessage(list[i] as PairRecord));
  }
  // Late duplicates without a message id: JetStream stores them, the collector must not count them.
  for (const list of all) {
    for (const r of list.slice(0, 50)) {
      const { subject, data } = pairMessage(r);
      out.push({ subject, data });
    }
  }
  return out;
}

function comparable(report: Report): Report {
  const { generatedAtMs: _g, source: _s, owner: _o, ...rest } = report;
  return rest as Report;
}

async function reportsWhenComplete(url: string): Promise<Report[]> {
  return Promise.all(
    EXPERIMENTS.map((experiment) =>
      waitFor(
        async () => {
          const r = await getJson<Report>(`${url}/experiments/${experiment}/report`);
          return r.counts.pairs === PER_EXPERIMENT && r.counts.duplicates.pairs === 50
            ? r
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50, message: `${experiment} complete at ${url}` },
      ),
    ),
  );
}

beforeAll(() => {
  specDir = mkdtempSync(join(tmpdir(), "umbra-specs-"));
  writeFileSync(
    join(specDir, "ranker.json"),
    JSON.stringify({
      schema: 1,
      experiment: "ranker",
      live: "prod",
      variants: {
        prod: { target: { kind: "local" } },
        A: { target: { kind: "local" } },
        B: { target: { kind: "local" } },
        C: { target: { kind: "local" } },
      },
      outputs: {
        label: { kind: "label" },
        embedding: { kind: "cosine", minSimilarity: 0.995 },
      },
      segments: [{ attribute: "device" }],
      criteria: { minSamples: 100, minDurationMs: 0 },
    }),
  );
});

afterAll(async () => {
  for (const p of processes) await p.kill();
  for (const s of servers) await s.stop();
  rmSync(specDir, { recursive: true, force: true });
});

const env = (dir: string) => ({
  UMBRA_SPECS: dir,
  UMBRA_CHECKPOINT_INTERVAL_MS: "100",
  UMBRA_CHECKPOINT_MAX_PENDING: "250",
  UMBRA_LEASE_TTL_MS: "2000",
  UMBRA_DISCOVERY_INTERVAL_MS: "100",
});

describe("collector crash recovery", () => {
  it("gives the same reports after four SIGKILLs mid-stream as a clean run", async () => {
    const messages = records();

    // Clean run.
    const cleanNats = await startNats();
    servers.push(cleanNats);
    const clean = await connectJetStream(cleanNats.url);
    await startCollectorProcess({ natsUrl: cleanNats.url, replicaId: "clean", env: env(specDir) })
      .then((p) => processes.push(p))
      .then(() => publishAll(clean.js, messages));
    const cleanReports = await reportsWhenComplete(processes[0]?.url ?? "");
    await clean.close();

    // Crashing run: the same records, published while the collector is killed and restarted.
    const nats = await startNats();
    servers.push(nats);
    const conn = await connectJetStream(nats.url);
    let collector = await startCollectorProcess({
      natsUrl: nats.url,
      replicaId: "crashy",
      env: env(specDir),
    });
    processes.push(collector);
    let published = false;
    const publishing = publishAll(conn.js, messages, 32).then(() => {
      published = true;
    });
    let seen = 0;
    let killsMidStream = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const url = collector.url;
      // Wait for progress past the previous kill, then kill while records keep arriving.
      seen = await waitFor(
        async () => {
          const r = await getJson<Report>(`${url}/experiments/ranker/report`).catch(
            () => undefined,
          );
          const at = r?.positions.pairs ?? 0;
          const complete = published && r?.counts.pairs === PER_EXPERIMENT;
          // Once everything is in, a kill still has to replay from the last checkpoint.
          return at > seen || complete ? Math.max(at, 1) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 5, message: `progress before kill ${kill}` },
      );
      if (!published) killsMidStream += 1;
      await collector.kill();
      collector = await startCollectorProcess({
        natsUrl: nats.url,
        replicaId: "crashy",
        env: env(specDir),
      });
      processes.push(collector);
    }
    await publishing;
    const crashReports = await reportsWhenComplete(collector.url);
    await conn.close();

    expect(crashReports.map(comparable)).toEqual(cleanReports.map(comparable));
    expect(crashReports[0]?.counts.pairs).toBe(PER_EXPERIMENT);
    expect(killsMidStream).toBeGreaterThan(0);
  });
});
