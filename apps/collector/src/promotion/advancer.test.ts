// The advancer inside a real collector: a private nats-server, a real flag file, records
// published to JetStream, and a clock the test moves (ticks are driven by hand).
import { readFile } from "node:fs/promises";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  buildExperimentFlag,
  buildFlagFile,
  type DecisionRecord,
  type ExposureRecord,
  encodeExposure,
  encodePair,
  type FlagdFlag,
  type FlagFile,
  type PairRecord,
  pairMessageId,
  Subjects,
  specHash,
} from "@umbra/protocol";
import {
  connectJetStream,
  connectNats,
  createFlagFileFixture,
  type FlagFileFixture,
  type JetStreamConnection,
  type NatsServer,
  startNats,
  waitFor,
  writeFlagFile,
} from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBuckets } from "../checkpoint/open-buckets.ts";
import { loadConfig } from "../config.ts";
import { type Collector, createCollector } from "../create-collector.ts";
import type { PromotionStatus } from "./promotion-status.ts";

const TOKEN = "advancer-test-admin-token";

const checkout: FlagdFlag = {
  state: "ENABLED",
  variants: { on: true, off: false },
  defaultVariant: "off",
  metadata: { owner: "web" },
};

function specOf(experiment: string, minSamples = 40) {
  return {
    schema: 1,
    experiment,
    live: "prod",
    variants: { prod: { target: { kind: "local" } }, A: { target: { kind: "local" } } },
    outputs: { label: { kind: "label" } },
    segments: [],
    criteria: {
      maxDivergenceRate: 0.25,
      maxErrorRate: 0.25,
      minSamples,
      minDurationMs: 1_000,
      maxDurationMs: 3_600_000,
    },
    stages: [
      { name: "live-50", rolloutBasisPoints: 5_000, holdMs: 1_000 },
      { name: "live-100", rolloutBasisPoints: 10_000, holdMs: 1_000 },
    ],
    watchMs: 1_000,
  } as const;
}

let nats: NatsServer;
let nc: NatsConnection;
let conn: JetStreamConnection;
let flags: FlagFileFixture<FlagFile>;
let collector: Collector;
let clockMs = Date.now();
let requests = 0;
let exposureSeq = 0;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats(nats.url);
  conn = await connectJetStream(nats.url);
  flags = await createFlagFileFixture<FlagFile>(buildFlagFile({ "checkout-redesign": checkout }));
  collector = createCollector({
    nc,
    now: () => clockMs,
    config: loadConfig({
      UMBRA_NATS_URL: nats.url,
      UMBRA_REPLICA_ID: "advancer",
      UMBRA_ADMIN_TOKEN: TOKEN,
      UMBRA_FLAG_FILE: flags.path,
      UMBRA_LOG_LEVEL: "silent",
      // Only the first tick runs by itself; the test drives the others.
      UMBRA_DECISION_TICK_MS: "3600000",
      UMBRA_CHECKPOINT_INTERVAL_MS: "100",
      // The clock is the test's: new stages' evidence starts right at the flag write.
      UMBRA_FLAG_SETTLE_MS: "0",
    }),
  });
  await collector.start();
});

afterAll(async () => {
  await collector?.close();
  await conn?.close();
  await nc?.close();
  await nats?.stop();
  await flags?.close();
});

async function register(experiment: string, minSamples?: number): Promise<string> {
  const spec = specOf(experiment, minSamples);
  const result = await collector.registerSpec(spec, experiment);
  await collector.round();
  return result.hash;
}

/** Edits the flag file as a human would: read what is on disk, change it, write it back atomically. */
async function editFlags(change: (file: FlagFile) => void): Promise<void> {
  const file = JSON.parse(await readFile(flags.path, "utf8")) as FlagFile;
  change(file);
  await writeFlagFile(flags.dir, file);
}

async function flagOf(experiment: string): Promise<FlagdFlag | undefined> {
  const file = JSON.parse(await readFile(flags.path, "utf8")) as FlagFile;
  return file.flags[`umbra.${experiment}`];
}

async function decisions(experiment: string, version: "all" | "current" = "all") {
  return (await collector.decisions(experiment, { limit: 1_000, version }))
    .records as DecisionRecord[];
}

/** Publishes `count` pairs of the experiment (identical outputs unless `diverging`) and waits until applied. */
async function publishPairs(
  experiment: string,
  hash: string,
  count: number,
  options: { readonly live?: string; readonly variant?: string; readonly diverging?: boolean } = {},
): Promise<void> {
  const before = (await collector.report(experiment)).counts.pairs;
  for (let i = 0; i < count; i++) {
    requests += 1;
    const record: PairRecord = {
      schema: 1,
      kind: "pair",
      requestId: `req-${requests}`,
      experiment,
      variant: options.variant ?? "A",
      liveVariant: options.live ?? "prod",
      flag: { variant: "prod+A", reason: "TARGETING_MATCH", revision: 1 },
      specHash: hash,
      sampleBasisPoints: 10_000,
      requestTimestampMs: clockMs + 1 + (i % 50),
      segment: { device: "mobile" },
      input: { capture: "none" },
      production: { output: { label: "cat" }, latencyMs: 4 },
      shadow: {
        outcome: "ok",
        output: { label: options.diverging === true ? "dog" : "cat" },
        latencyMs: 6,
      },
      warmup: false,
      sideEffectAttempts: 0,
      sdkInstanceId: "sdk-test",
    };
    await conn.js.publish(Subjects.pairs(experiment, record.variant), encodePair(record), {
      msgID: pairMessageId(experiment, record.requestId, record.variant),
    });
  }
  await waitFor(async () => (await collector.report(experiment)).counts.pairs >= before + count, {
    timeoutMs: 10_000,
    message: `${count} pairs of ${experiment} applied`,
  });
}

/** Publishes one exposure window starting now with requests per plan, and waits until applied. */
async function publishExposure(experiment: string, plans: Record<string, number>): Promise<void> {
  exposureSeq += 1;
  const before = (await collector.report(experiment)).counts.exposures;
  const record: ExposureRecord = {
    schema: 1,
    kind: "exposure",
    experiment,
    sdkInstanceId: "sdk-test",
    seq: exposureSeq,
    windowStartMs: clockMs + 1,
    windowEndMs: clockMs + 100,
    entries: Object.entries(plans).map(([plan, n]) => ({
      plan,
      segment: {},
      requests: n,
      mirrors: plan.includes("+A")
        ? { A: { planned: n, dispatched: n, dropped: {} } }
        : plan.includes("+prod")
          ? { prod: { planned: n, dispatched: n, dropped: {} } }
          : {},
    })),
  };
  await conn.js.publish(Subjects.exposures(experiment), encodeExposure(record));
  await waitFor(async () => (await collector.report(experiment)).counts.exposures > before, {
    timeoutMs: 10_000,
    message: `exposure of ${experiment} applied`,
  });
}

async function tickAt(experiment: string, advanceMs: number): Promise<PromotionStatus> {
  clockMs += advanceMs;
  await collector.tick(experiment);
  return collector.status(experiment);
}

describe("the advancer", () => {
  it("walks a passing candidate through every stage, one flag revision and one logged transition per step", async () => {
    exposureSeq = 0;
    const hash = await register("walk");
    expect(hash).toBe(specHash(specOf("walk") as never));
    const first = await waitFor(async () => flagOf("walk"), { message: "first flag written" });
    expect(first.metadata).toMatchObject({ revision: 1, stage: "shadow", specHash: hash });

    await publishPairs("walk", hash, 50);
    let status = await tickAt("walk", 2_000);
    expect(status.stage).toBe("live-50");
    expect(status.rollout).toEqual({ variant: "A", basisPoints: 5_000 });

    await publishExposure("walk", { "prod+A": 50, A: 50 });
    await publishPairs("walk", hash, 10);
    status = await tickAt("walk", 1_500);
    expect(status.stage).toBe("live-100");

    await publishExposure("walk", { A: 100 });
    status = await tickAt("walk", 1_500);
    expect(status.stage).toBe("watch");
    expect(status.live).toBe("A");
    expect(status.mirrored).toEqual([{ variant: "prod", sampleBasisPoints: 10_000 }]);

    await publishPairs("walk", hash, 10, { live: "A", variant: "prod" });
    status = await tickAt("walk", 1_500);
    expect(status.stage).toBe("done");
    expect(status.summary).toBe("A is live; nothing is mirrored.");
    expect(status.candidates[0]).toMatchObject({ variant: "A", phase: "done" });

    const flag = await flagOf("walk");
    expect(flag?.metadata).toMatchObject({ revision: 5, stage: "done", live: "A" });
    const file = JSON.parse(await readFile(flags.path, "utf8")) as FlagFile;
    expect(file.flags["checkout-redesign"]).toEqual(checkout);

    const log = await decisions("walk");
    expect(log.map((r) => r.seq)).toEqual(log.map((_, i) => i + 1));
    const moves = log.filter((r) => r.from !== r.to);
    expect(moves.map((r) => [r.from, r.to, r.flagRevision])).toEqual([
      ["none", "shadow", 1],
      ["shadow", "live-50", 2],
      ["live-50", "live-100", 3],
      ["live-100", "watch", 4],
      ["watch", "done", 5],
    ]);
    expect(moves[1]?.rule).toBe("criteria.all_pass");
  });

  it("rolls a regressing candidate back from a live stage to the last known good", async () => {
    exposureSeq = 0;
    const hash = await register("regress");
    await waitFor(async () => flagOf("regress"), { message: "first flag written" });
    await publishPairs("regress", hash, 50);
    expect((await tickAt("regress", 2_000)).stage).toBe("live-50");
    await publishPairs("regress", hash, 30, { diverging: true });
    const status = await tickAt("regress", 100);
    expect(status.candidates[0]).toMatchObject({
      phase: "rolled_back",
      rule: "criterion.divergence",
    });
    expect(status.live).toBe("prod");
    expect((await flagOf("regress"))?.metadata).toMatchObject({ live: "prod", stage: "done" });
    const last = (await decisions("regress")).at(-1);
    expect(last).toMatchObject({ from: "live-50", to: "rolled_back", outcome: "fail" });
    expect(last?.reason).toContain("rolled back from live-50 to prod");
  });

  it("never overwrites a human edit: it records it, stops writing, and resumes only when told", async () => {
    const hash = await register("edited");
    await waitFor(async () => flagOf("edited"), { message: "first flag written" });
    // A human lowers A's sample by hand, as a new revision.
    const human = buildExperimentFlag({
      experiment: "edited",
      live: "prod",
      revision: 2,
      specHash: hash,
      candidates: [{ variant: "A", sampleBasisPoints: 2_500 }],
    });
    await editFlags((f) => {
      f.flags["umbra.edited"] = human;
    });
    const text = await readFile(flags.path, "utf8");
    let status = await tickAt("edited", 10);
    expect(status.control?.mode).toBe("manual");
    const edit = (await decisions("edited")).at(-1);
    expect(edit).toMatchObject({ rule: "flag.human_edit", flagRevision: 2 });
    expect(edit?.reason).toContain("Human edit detected");
    expect(edit?.reason).toContain("mirror A 100% → 25%");

    // Evidence that would promote changes nothing while a human holds the flag.
    await publishPairs("edited", hash, 50);
    status = await tickAt("edited", 2_000);
    expect(status.candidates[0]?.phase).toBe("shadow");
    expect(await readFile(flags.path, "utf8")).toBe(text);

    await collector.command("edited", { kind: "resume", actor: "human:alice" });
    status = await collector.status("edited");
    expect(status.control?.mode).toBe("collector");
    expect((await flagOf("edited"))?.metadata).toMatchObject({ revision: 3, "sample.A": 10_000 });
    expect((await decisions("edited")).at(-1)).toMatchObject({
      rule: "manual.resume",
      actor: "human:alice",
      flagRevision: 3,
    });
  });

  it("obeys state DISABLED set by hand: no writes, commands refused, and back to work when enabled again", async () => {
    await register("killed");
    await waitFor(async () => flagOf("killed"), { message: "first flag written" });
    await editFlags((f) => {
      const flag = f.flags["umbra.killed"];
      if (flag !== undefined) flag.state = "DISABLED";
    });
    const text = await readFile(flags.path, "utf8");
    const status = await tickAt("killed", 10);
    expect(status.control?.mode).toBe("disabled");
    expect(status.summary).toContain("DISABLED");
    await expect(
      collector.command("killed", { kind: "promote", variant: "A", actor: "human:bob" }),
    ).rejects.toMatchObject({ code: "conflict" });
    expect(await readFile(flags.path, "utf8")).toBe(text);
    await editFlags((f) => {
      const flag = f.flags["umbra.killed"];
      if (flag !== undefined) flag.state = "ENABLED";
    });
    expect((await tickAt("killed", 10)).control?.mode).toBe("collector");
    const log = await decisions("killed");
    expect(log.map((r) => r.rule).slice(-2)).toEqual(["flag.disabled", "flag.human_edit"]);
  });

  it("starts a new experiment version when the spec changes, without reusing the old evidence", async () => {
    const v1 = await register("versioned", 40);
    await waitFor(async () => flagOf("versioned"), { message: "first flag written" });
    await publishPairs("versioned", v1, 30);
    await tickAt("versioned", 2_000);
    const v2 = await register("versioned", 45);
    expect(v2).not.toBe(v1);
    const status = await tickAt("versioned", 10);
    expect(status.specHash).toBe(v2);
    expect(status.stage).toBe("shadow");
    const flag = await flagOf("versioned");
    expect(flag?.metadata).toMatchObject({ specHash: v2, revision: 2 });
    const current = await decisions("versioned", "current");
    expect(current[0]).toMatchObject({ seq: 1, rule: "spec.new_version", specHash: v2 });
    expect(current[0]?.reason).toContain("is not reused");
    expect(current[0]?.evidence.pairsNotReused).toBe(30);
    // The 30 pairs of version 1 do not count: 20 more are not enough for version 2's 45.
    await publishPairs("versioned", v2, 20);
    const waiting = await tickAt("versioned", 2_000);
    expect(waiting.stage).toBe("shadow");
    expect(waiting.candidates[0]?.reason).toContain("20 of 45 compared pairs");
    const old = (await collector.previousReport("versioned", v1.slice(0, 12))) as {
      pairs: number;
    };
    expect(old.pairs).toBe(30);
  });

  it("tells a wrong command why it is not allowed", async () => {
    await register("refused");
    await waitFor(async () => flagOf("refused"), { message: "first flag written" });
    await expect(
      collector.command("refused", { kind: "rollback", variant: "A", actor: "human:eve" }),
    ).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(
      collector.command("refused", { kind: "hold", variant: "Z", actor: "human:eve" }),
    ).rejects.toMatchObject({ code: "not_found" });
    await collector.command("refused", { kind: "hold", actor: "human:eve", note: "load test" });
    const status = await collector.status("refused");
    expect(status.candidates[0]).toMatchObject({ phase: "held", decision: "hold" });
  });

  it("logs an evaluation that changes nothing once per sampling period, and every change at once", async () => {
    const hash = await register("sampled");
    await waitFor(async () => flagOf("sampled"), { message: "first flag written" });
    await publishPairs("sampled", hash, 10);
    const waits = async () =>
      (await decisions("sampled")).filter((r) => r.rule === "requirement.min_samples").length;
    for (let i = 0; i < 5; i++) await tickAt("sampled", 1_000);
    expect(await waits()).toBe(1);
    const status = await collector.status("sampled");
    // The status still has the latest evaluation, logged or not.
    expect(status.candidates[0]?.reason).toContain("10 of 40 compared pairs");
    await tickAt("sampled", 60_000);
    expect(await waits()).toBe(2);
    const { text } = await collector.metricsText();
    expect(
      Number(/umbra_collector_decisions_sampled_out_total\{[^}]*\} (\d+)/.exec(text)?.[1]),
    ).toBeGreaterThanOrEqual(4);
    await publishPairs("sampled", hash, 40);
    await tickAt("sampled", 1_000);
    const last = (await decisions("sampled")).at(-1);
    expect(last).toMatchObject({ from: "shadow", to: "live-50", rule: "criteria.all_pass" });
  });

  it("does nothing once its lease is someone else's: no commit, no flag write, no decision", async () => {
    const hash = await register("stale");
    await waitFor(async () => flagOf("stale"), { message: "first flag written" });
    await publishPairs("stale", hash, 50);
    const flagBefore = await readFile(flags.path, "utf8");
    const logBefore = await decisions("stale");
    // Another replica takes the lease over (as after this one was frozen past the lease TTL).
    const buckets = await openBuckets(nc, { leaseTtlMs: 10_000, replicas: 1 });
    await buckets.leases.put(
      "exp.stale",
      JSON.stringify({ owner: "intruder", incarnation: "x", sinceMs: clockMs }),
    );
    // Evidence that would promote A, evaluated by the replica that no longer holds the lease.
    await tickAt("stale", 2_000);
    expect(await readFile(flags.path, "utf8")).toBe(flagBefore);
    expect(await decisions("stale")).toEqual(logBefore);
    await waitFor(() => !collector.held().includes("stale"), {
      message: "the partition stopped",
    });
  });
});
