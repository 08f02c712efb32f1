// Issue: the collector's surfaces. The `umbra` CLI (its bin, run as a real process) against a
// running collector process: `report --json`, the side-by-side table, examples, export, and
// usage errors that name the flag.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  connectJetStream,
  generatePairRecords,
  type NatsServer,
  startNats,
  waitFor,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CollectorProcess, startCollectorProcess } from "./collector-process.ts";
import { getJson, pairMessage, publishAll } from "./publish-records.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "apps/cli/bin/umbra.mjs");
const COUNT = 900;

let nats: NatsServer;
let collector: CollectorProcess;
let dir: string;

interface Report {
  counts: { pairs: number };
  comparison: { variants: { variant: string; pairs: number; divergence: { rate: number } }[] };
}

async function umbra(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "umbra-cli-"));
  writeFileSync(
    join(dir, "ranker.json"),
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
      outputs: { label: { kind: "label" } },
      segments: [{ attribute: "device" }],
      criteria: { minSamples: 10, minDurationMs: 0 },
    }),
  );
  nats = await startNats();
  collector = await startCollectorProcess({
    natsUrl: nats.url,
    replicaId: "cli",
    env: {
      UMBRA_SPECS: dir,
      UMBRA_CHECKPOINT_INTERVAL_MS: "100",
      UMBRA_DISCOVERY_INTERVAL_MS: "100",
    },
  });
  const conn = await connectJetStream(nats.url);
  await publishAll(conn.js, [...generatePairRecords({ seed: 5, count: COUNT })].map(pairMessage));
  await conn.close();
  await waitFor(
    async () =>
      (await getJson<Report>(`${collector.url}/experiments/ranker/report`)).counts.pairs === COUNT,
    { timeoutMs: 30_000, message: "pairs in the collector" },
  );
});

afterAll(async () => {
  await collector?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("umbra CLI", () => {
  it("prints the collector's report as JSON with report --json", async () => {
    const r = await umbra("report", "ranker", "--url", collector.url, "--json");
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Report;
    const served = await getJson<Report>(`${collector.url}/experiments/ranker/report`);
    expect(printed.comparison).toEqual(served.comparison);
    expect(printed.counts.pairs).toBe(COUNT);
  });

  it("prints variants A, B and C side by side as a table", async () => {
    const served = await getJson<Report>(`${collector.url}/experiments/ranker/report`);
    const r = await umbra("report", "ranker", "--url", collector.url);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[1]).toMatch(/^\s+A\s+B\s+C$/);
    const pairsRow = lines.find((l) => l.startsWith("pairs")) ?? "";
    expect(pairsRow.split(/\s+/).slice(1).map(Number)).toEqual(
      served.comparison.variants.map((v) => v.pairs),
    );
    const divergenceRow = lines.find((l) => l.startsWith("divergence ")) ?? "";
    const a = served.comparison.variants[0]?.divergence.rate ?? 0;
    expect(divergenceRow).toContain(`${(a * 100).toFixed(2)}%`);
    for (const row of [
      "coverage",
      "similarity p50",
      "latency p99 prod",
      "latency p99 shadow",
      "error rate",
      "timeout rate",
      "drop rate",
      "side effects",
      "worst segment",
      "top feature",
    ]) {
      expect(lines.some((l) => l.startsWith(row))).toBe(true);
    }
  });

  it("lists divergent examples of one variant, and exports them all as JSONL to a file", async () => {
    const examples = await umbra("examples", "ranker", "B", "--url", collector.url, "--limit", "3");
    expect(examples.code).toBe(0);
    expect(examples.stdout).toMatch(/^3 of \d+ divergent examples of ranker\/B/);
    const out = join(dir, "out.jsonl");
    const exported = await umbra("export", "ranker", "--url", collector.url, "--out", out);
    expect(exported.code).toBe(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(exported.stderr).toContain(`exported ${lines.length} examples of ranker to ${out}`);
    for (const line of lines) expect(JSON.parse(line).experiment).toBe("ranker");
  });

  it("names the flag or argument that breaks a rule, with exit code 2", async () => {
    const url = await umbra("report", "ranker", "--url", "ftp://x");
    expect(url.code).toBe(2);
    expect(url.stderr).toContain("--url <url>");
    expect(url.stderr).toContain("must be an http:// or https:// URL");
    const name = await umbra("report", "bad.name", "--url", collector.url);
    expect(name.code).toBe(2);
    expect(name.stderr).toContain("experiment");
    const limit = await umbra("examples", "ranker", "A", "--limit", "0", "--url", collector.url);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain("--limit <n>");
  });

  it("says which experiment does not exist, with exit code 5", async () => {
    const r = await umbra("report", "nobody", "--url", collector.url);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("no experiment named nobody");
  });

  it("runs as npx umbra from the repository root", async () => {
    const { stdout } = await run("npx", ["--no-install", "umbra", "--help"], { cwd: ROOT });
    expect(stdout).toContain("Usage: umbra");
    expect(stdout).toContain("report");
  });
});
