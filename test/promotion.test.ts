// Issue 6: promotion end to end. A private nats-server, a real flag file, the collector as a child
// process promoting through that file and serving it over flagd.sync.v1, real gRPC variants, and
// the SDK in this process following the collector's endpoint under steady traffic.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  buildExperimentFlag,
  buildFlagFile,
  type DecisionRecord,
  type FlagdFlag,
  type FlagFile,
} from "@umbra/protocol";
import type { Shadow } from "@umbra/sdk";
import {
  createFlagFileFixture,
  type FlagFileFixture,
  type NatsServer,
  startNats,
  waitFor,
  writeFlagFile,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  type Answer,
  createTestShadow,
  driveTraffic,
  getJson,
  type PromotingCollector,
  readDecisionLog,
  type SwitchableVariant,
  send,
  startPromotingCollector,
  startSwitchableVariant,
  type Traffic,
  testSpec,
  waitForStatus,
} from "./support/promotion-stack.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "apps/cli/bin/umbra.mjs");
const TRAFFIC_WORKERS = 3;

const checkout: FlagdFlag = {
  state: "ENABLED",
  variants: { on: true, off: false },
  defaultVariant: "off",
  targeting: {
    fractional: [
      ["on", 25],
      ["off", 75],
    ],
  },
  metadata: { owner: "web" },
};

let nats: NatsServer;
let flags: FlagFileFixture<FlagFile>;
let collector: PromotingCollector;
let prod: SwitchableVariant;
const variants: SwitchableVariant[] = [];
const running: { traffic: Traffic; shadow: Shadow<readonly number[], Answer> }[] = [];

beforeAll(async () => {
  nats = await startNats();
  flags = await createFlagFileFixture<FlagFile>(buildFlagFile({ "checkout-redesign": checkout }));
  collector = await startPromotingCollector({
    natsUrl: nats.url,
    flagFile: flags.path,
    replicaId: "promoter",
  });
  prod = await startSwitchableVariant("prod");
});

afterAll(async () => {
  for (const r of running) {
    await r.traffic.stop();
    await r.shadow.close();
  }
  await collector?.process.stop();
  await prod?.server.close();
  for (const v of variants) await v.server.close();
  await flags?.close();
  await nats?.stop();
});

/** Registers the experiment's spec, starts an SDK on the collector's sync port and traffic through it. */
async function startExperiment(
  experiment: string,
  spec: (candidate: SwitchableVariant) => unknown,
): Promise<{
  candidate: SwitchableVariant;
  shadow: Shadow<readonly number[], Answer>;
  traffic: Traffic;
  specHash: string;
}> {
  const candidate = await startSwitchableVariant("A");
  variants.push(candidate);
  const put = await send("PUT", `${collector.url}/experiments/${experiment}`, spec(candidate));
  expect(put.status).toBe(201);
  const shadow = await createTestShadow({
    experiment,
    flagSyncPort: collector.flagSyncPort,
    natsUrl: nats.url,
    prod,
    candidate,
  });
  const traffic = driveTraffic(shadow, { seed: experiment, workers: TRAFFIC_WORKERS });
  running.push({ traffic, shadow });
  return { candidate, shadow, traffic, specHash: put.body.specHash as string };
}

async function readFlags(): Promise<FlagFile> {
  return JSON.parse(await readFile(flags.path, "utf8")) as FlagFile;
}

/** Waits until the SDK evaluates the flag at `revision` (it follows the sync endpoint). */
async function sdkAt(shadow: Shadow<readonly number[], Answer>, revision: number): Promise<void> {
  await waitFor(async () => (await shadow.plan({ requestId: "probe" })).revision >= revision, {
    timeoutMs: 10_000,
    message: `flag revision ${revision} reached the SDK`,
  });
}

/**
 * Waits for `count` more answers and resolves who gave them. The requests in flight when it is
 * called (at most one per traffic worker) were planned earlier, so their answers are left out.
 */
async function nextAnswers(traffic: Traffic, count: number): Promise<Map<string, number>> {
  const inFlight = traffic.answered + TRAFFIC_WORKERS;
  await waitFor(() => traffic.answered >= inFlight, {
    timeoutMs: 30_000,
    message: "requests in flight answered",
  });
  const from = traffic.answered;
  await waitFor(() => traffic.answered >= from + count, {
    timeoutMs: 30_000,
    message: `${count} more answers`,
  });
  return traffic.answersSince(from);
}

async function decisions(experiment: string, version = "all"): Promise<DecisionRecord[]> {
  const body = await getJson<{ records: DecisionRecord[] }>(
    `${collector.url}/experiments/${experiment}/decisions?version=${version}`,
  );
  return body.records;
}

async function umbra(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args, "--url", collector.url], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", USER: "ops", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function transitions(log: readonly DecisionRecord[]): [string, string, number | undefined][] {
  return log.filter((r) => r.from !== r.to).map((r) => [r.from, r.to, r.flagRevision]);
}

describe("promotion end to end", () => {
  it("promotes A through every stage; the running SDK follows each flip and ends answering every request from A", async () => {
    const { shadow, traffic } = await startExperiment("promo", (candidate) =>
      testSpec("promo", { prod, candidate }),
    );
    await waitForStatus(collector.url, "promo", (s) => s.stage === "live-50", "A live at 50%");
    // Half of the users are answered by A now, the other half still by prod.
    await waitFor(
      async () => {
        const answers = await nextAnswers(traffic, 60);
        return (answers.get("A") ?? 0) >= 10 && (answers.get("prod") ?? 0) >= 10;
      },
      { timeoutMs: 30_000, message: "answers from both A and prod during live-50" },
    );
    const done = await waitForStatus(
      collector.url,
      "promo",
      (s) => s.stage === "done",
      "A promoted to done",
      90_000,
    );
    expect(done.live).toBe("A");
    expect(done.candidates[0]).toMatchObject({ variant: "A", phase: "done" });
    await sdkAt(shadow, done.flag.revision ?? 0);
    expect(await nextAnswers(traffic, 60)).toEqual(new Map([["A", expect.any(Number)]]));
    expect(traffic.failures).toBe(0);

    const file = await readFlags();
    expect(file.flags["checkout-redesign"]).toEqual(checkout);
    expect(file.flags["umbra.promo"]?.metadata).toMatchObject({
      live: "A",
      stage: "done",
      revision: 5,
      managedBy: "umbra",
    });
    const log = await readDecisionLog(nats.url, "promo");
    expect(log.map((r) => r.seq)).toEqual(log.map((_, i) => i + 1));
    expect(transitions(log)).toEqual([
      ["none", "shadow", 1],
      ["shadow", "live-50", 2],
      ["live-50", "live-100", 3],
      ["live-100", "watch", 4],
      ["watch", "done", 5],
    ]);
  });

  it("rolls A back to the last known good when it regresses during a live stage, and the SDK answers from prod again", async () => {
    const { candidate, shadow, traffic } = await startExperiment("regress", (c) =>
      testSpec("regress", { prod, candidate: c, holdMs: 600_000 }),
    );
    await waitForStatus(collector.url, "regress", (s) => s.stage === "live-50", "A live at 50%");
    candidate.diverging = true;
    const rolled = await waitForStatus(
      collector.url,
      "regress",
      (s) => s.candidates[0]?.phase === "rolled_back",
      "A rolled back",
    );
    expect(rolled.live).toBe("prod");
    expect(rolled.rollout).toBeNull();
    expect(rolled.candidates[0]?.rule).toBe("criterion.divergence");
    // The status can show a decision a few milliseconds before its flag write commits: wait for
    // the rolled-back flag in the file itself, then for the SDK to have it.
    const rolledRevision = await waitFor(
      async () => {
        const md = (await readFlags()).flags["umbra.regress"]?.metadata;
        return md !== undefined && md.rollout === undefined && md.live === "prod"
          ? Number(md.revision)
          : undefined;
      },
      { timeoutMs: 10_000, message: "the rolled-back flag written" },
    );
    await sdkAt(shadow, Math.max(rolledRevision, rolled.flag.revision ?? 0));
    expect(await nextAnswers(traffic, 60)).toEqual(new Map([["prod", expect.any(Number)]]));
    const last = (await decisions("regress")).filter((r) => r.from !== r.to).at(-1);
    expect(last).toMatchObject({ from: "live-50", to: "rolled_back", outcome: "fail" });
    expect(last?.reason).toContain("rolled back from live-50 to prod, the last known good");
    expect((await readFlags()).flags["umbra.regress"]?.metadata).toMatchObject({
      live: "prod",
      stage: "done",
    });
  });

  it("never overwrites a human edit made between ticks: it records it, the SDK obeys it, and resume hands the flag back", async () => {
    const { shadow, specHash } = await startExperiment("edited", (candidate) =>
      testSpec("edited", { prod, candidate, minSamples: 1_000_000 }),
    );
    await waitForStatus(collector.url, "edited", (s) => s.flag.revision === 1, "first flag");
    // An operator cuts A's mirror to 30% by hand, as revision 2.
    const human = buildExperimentFlag({
      experiment: "edited",
      live: "prod",
      revision: 2,
      specHash,
      candidates: [{ variant: "A", sampleBasisPoints: 3_000 }],
    });
    const file = await readFlags();
    file.flags["umbra.edited"] = { ...human, metadata: { ...human.metadata, ticket: "OPS-7" } };
    await writeFlagFile(flags.dir, file);
    const text = await readFile(flags.path, "utf8");

    const edit = await waitFor(
      async () => (await decisions("edited")).find((r) => r.rule === "flag.human_edit"),
      { timeoutMs: 10_000, message: "human edit recorded" },
    );
    expect(edit.reason).toContain("Human edit detected");
    expect(edit.reason).toContain("mirror A 100% → 30%");
    expect(edit.flagRevision).toBe(2);
    // Many ticks later the file is still the human's, byte for byte.
    const ticks = async () => {
      const text = await (await fetch(`${collector.url}/metrics`)).text();
      return Number(
        /umbra_collector_advancer_ticks_total\{[^}]*result="paused"[^}]*\} (\d+)/.exec(text)?.[1] ??
          0,
      );
    };
    const before = await ticks();
    await waitFor(async () => (await ticks()) >= before + 5, {
      timeoutMs: 10_000,
      message: "five more ticks",
    });
    expect(await readFile(flags.path, "utf8")).toBe(text);
    const status = await getJson<{ control: { mode: string }; summary: string }>(
      `${collector.url}/experiments/edited/status`,
    );
    expect(status.control.mode).toBe("manual");
    // The SDK follows the human's flag.
    await sdkAt(shadow, 2);
    let mirrored = 0;
    for (let i = 0; i < 400; i++) {
      if ((await shadow.plan({ requestId: `share-${i}` })).mirror.includes("A")) mirrored += 1;
    }
    expect(mirrored / 400).toBeLessThan(0.45);

    const resumed = await umbra(["resume", "edited", "--note", "incident over"], {
      UMBRA_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("resume: done");
    expect(resumed.stdout).toContain("control: collector");
    const flag = (await readFlags()).flags["umbra.edited"];
    expect(flag?.metadata).toMatchObject({ revision: 3, "sample.A": 10_000, ticket: "OPS-7" });
    expect((await decisions("edited")).find((r) => r.rule === "manual.resume")).toMatchObject({
      actor: "human:ops",
      flagRevision: 3,
    });
  });

  it("takes manual commands only with the admin token, over HTTP and from umbra", async () => {
    const { shadow, traffic } = await startExperiment("manual", (candidate) =>
      testSpec("manual", { prod, candidate, minSamples: 1_000_000, holdMs: 600_000 }),
    );
    await waitForStatus(collector.url, "manual", (s) => s.flag.revision === 1, "first flag");
    const url = `${collector.url}/experiments/manual/promote`;
    expect((await send("POST", url, { variant: "A" }, null)).status).toBe(401);
    expect((await send("POST", url, { variant: "A" }, "not-the-admin-token")).status).toBe(403);

    const none = await umbra(["promote", "manual", "A"]);
    expect(none.code).toBe(7);
    expect(none.stderr).toContain("401");
    expect(none.stderr).toContain("--token");
    const wrong = await umbra(["promote", "manual", "A", "--token", "not-the-admin-token"]);
    expect(wrong.code).toBe(7);
    expect(wrong.stderr).toContain("403");
    expect(
      (await getJson<{ stage: string }>(`${collector.url}/experiments/manual/status`)).stage,
    ).toBe("shadow");

    const promoted = await umbra(["promote", "manual", "A", "--note", "ship it"], {
      UMBRA_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain("promote A: done");
    expect(promoted.stdout).toContain("A answers 100% of requests (live-100)");
    const live = await getJson<{ flag: { revision: number } }>(
      `${collector.url}/experiments/manual/status`,
    );
    await sdkAt(shadow, live.flag.revision);
    expect(await nextAnswers(traffic, 30)).toEqual(new Map([["A", expect.any(Number)]]));
    // The stage is healthy: its traffic split matches the flag, only the hold is still running.
    await waitForStatus(
      collector.url,
      "manual",
      (s) => s.candidates[0]?.rule === "requirement.stage_hold",
      "live-100 healthy, holding",
    );

    const rolled = await umbra(["rollback", "manual", "--token", ADMIN_TOKEN]);
    expect(rolled.code).toBe(0);
    const back = await getJson<{ flag: { revision: number }; live: string }>(
      `${collector.url}/experiments/manual/status`,
    );
    expect(back.live).toBe("prod");
    await sdkAt(shadow, back.flag.revision);
    expect(await nextAnswers(traffic, 30)).toEqual(new Map([["prod", expect.any(Number)]]));

    const explained = await umbra(["explain", "manual"]);
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain("shadow → live-100  promote  by human:ops");
    expect(explained.stdout).toContain('"ship it"');
    expect(explained.stdout).toContain("live-100 → rolled_back  rollback  by human:ops");
    const status = await umbra(["status", "manual"]);
    expect(status.stdout).toContain("control: collector");
    expect(status.stdout).toMatch(/A {2}rolled_back {2}since/);
  });

  it("starts a new experiment version when the spec changes: the old evidence is not reused, and the log says so", async () => {
    const {
      shadow,
      traffic,
      specHash: v1,
    } = await startExperiment("versioned", (candidate) =>
      testSpec("versioned", { prod, candidate, minSamples: 400 }),
    );
    const counted = await waitForStatus(
      collector.url,
      "versioned",
      (s) => Number(/(\d+) of 400 compared pairs/.exec(s.candidates[0]?.reason ?? "")?.[1]) >= 40,
      "40 pairs counted under version 1",
    );
    const before = Number(/(\d+) of 400/.exec(counted.candidates[0]?.reason ?? "")?.[1]);
    await traffic.stop();
    expect(await shadow.settle(10_000)).toBe(true);

    const spec2 = (
      await getJson<{ spec: Record<string, unknown> }>(
        `${collector.url}/experiments/versioned/spec`,
      )
    ).spec as { criteria: Record<string, unknown> };
    const put = await send("PUT", `${collector.url}/experiments/versioned`, {
      ...spec2,
      criteria: { ...spec2.criteria, minSamples: 401 },
    });
    expect(put.body.change).toBe("replaced");
    const v2 = put.body.specHash as string;
    await waitForStatus(collector.url, "versioned", (s) => s.specHash === v2, "version 2 running");

    const current = await waitFor(
      async () => {
        const log = await decisions("versioned", "current");
        return log.length >= 2 ? log : undefined;
      },
      { timeoutMs: 10_000, message: "version 2 evaluated" },
    );
    expect(current[0]).toMatchObject({ seq: 1, rule: "spec.new_version", specHash: v2 });
    expect(current[0]?.reason).toContain(`Evidence gathered under ${v1.slice(0, 12)}`);
    expect(current[0]?.reason).toContain("is not reused");
    expect(Number(current[0]?.evidence.pairsNotReused)).toBeGreaterThanOrEqual(before);
    const checks = current[1]?.evidence.checks as { id: string; observed: number }[];
    expect(checks.find((c) => c.id === "requirement.min_samples")?.observed).toBe(0);

    expect((await readFlags()).flags["umbra.versioned"]?.metadata?.specHash).toBe(v2);
    const report = await getJson<{ counts: { pairs: number }; spec: { hash: string } }>(
      `${collector.url}/experiments/versioned/report`,
    );
    expect(report.spec.hash).toBe(v2);
    expect(report.counts.pairs).toBe(0);
    const old = await getJson<{ pairs: number }>(
      `${collector.url}/experiments/versioned/report?version=${v1.slice(0, 12)}`,
    );
    expect(old.pairs).toBeGreaterThanOrEqual(before);
  });
});
