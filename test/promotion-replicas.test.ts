// Issue 6: one advancer per experiment across collector replicas. Two collector processes share a
// NATS server and a flag file; the one advancing the experiment is frozen (SIGSTOP) mid-rollout,
// the other takes over and goes on, and the frozen one is woken up (SIGCONT) while the other is
// still advancing. The decision stream and the flag file must show every step exactly once.
import { readFile } from "node:fs/promises";
import { buildFlagFile, type DecisionRecord, type FlagFile } from "@umbra/protocol";
import type { Shadow } from "@umbra/sdk";
import {
  createFlagFileFixture,
  type FlagFileFixture,
  type NatsServer,
  startNats,
  waitFor,
} from "@umbra/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
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

let nats: NatsServer | undefined;
let flags: FlagFileFixture<FlagFile> | undefined;
const collectors: PromotingCollector[] = [];
const variants: SwitchableVariant[] = [];
let shadow: Shadow<readonly number[], Answer> | undefined;
let traffic: Traffic | undefined;

afterAll(async () => {
  await traffic?.stop();
  await shadow?.close();
  for (const c of collectors) {
    // A frozen process would never exit on SIGTERM.
    process.kill(c.process.pid, "SIGCONT");
    await c.process.stop();
  }
  for (const v of variants) await v.server.close();
  await flags?.close();
  await nats?.stop();
});

const ORDER = ["shadow", "live-50", "live-100", "watch", "done"];

describe("collector replicas promoting one experiment", () => {
  it("never advance it twice: a frozen holder's successor goes on, and the woken holder writes nothing", async () => {
    nats = await startNats();
    flags = await createFlagFileFixture<FlagFile>(buildFlagFile({}));
    const natsUrl = nats.url;
    const flagFile = flags.path;
    const [r1, r2] = await Promise.all(
      ["r1", "r2"].map((replicaId) => startPromotingCollector({ natsUrl, flagFile, replicaId })),
    );
    if (r1 === undefined || r2 === undefined) throw new Error("two collectors expected");
    collectors.push(r1, r2);
    const prod = await startSwitchableVariant("prod");
    const candidate = await startSwitchableVariant("A");
    variants.push(prod, candidate);
    const put = await send(
      "PUT",
      `${r1.url}/experiments/replicated`,
      testSpec("replicated", { prod, candidate, holdMs: 2_500 }),
    );
    expect(put.status).toBe(201);

    const first = await waitForStatus(
      r1.url,
      "replicated",
      (s) => s.owner !== null && s.flag.revision === 1,
      "one replica advances the experiment",
    );
    const holder = first.owner === "r1" ? r1 : r2;
    const other = holder === r1 ? r2 : r1;
    const otherId = other === r1 ? "r1" : "r2";
    // The SDK follows the replica that will stay up.
    shadow = await createTestShadow({
      experiment: "replicated",
      flagSyncPort: other.flagSyncPort,
      natsUrl,
      prod,
      candidate,
    });
    traffic = driveTraffic(shadow, { seed: "replicated" });

    await waitForStatus(holder.url, "replicated", (s) => s.stage === "live-50", "A live at 50%");
    process.kill(holder.process.pid, "SIGSTOP");
    const taken = await waitForStatus(
      other.url,
      "replicated",
      (s) => s.owner === otherId,
      "the other replica took the experiment over",
    );
    // Frozen right after deciding, the holder may not have committed the promotion yet: then the
    // successor starts from shadow and decides it again (nothing of the first decision was logged).
    expect(["shadow", "live-50"]).toContain(taken.stage);
    await waitForStatus(
      other.url,
      "replicated",
      (s) => ORDER.indexOf(s.stage ?? "") >= ORDER.indexOf("live-100"),
      "the new holder advanced past live-50",
    );
    process.kill(holder.process.pid, "SIGCONT");
    // The woken replica finds out it lost the experiment (a lost lease renewal, a lost checkpoint
    // compare-and-swap, or its advancer's lease check — whichever comes first) and lets go.
    await waitFor(
      async () =>
        !(await getJson<{ experiments: string[] }>(`${holder.url}/healthz`)).experiments.includes(
          "replicated",
        ),
      { timeoutMs: 30_000, message: "the woken replica let the experiment go" },
    );
    const done = await waitForStatus(
      other.url,
      "replicated",
      (s) => s.stage === "done",
      "A promoted to done",
      90_000,
    );
    expect(done.live).toBe("A");
    await traffic.stop();

    const log: DecisionRecord[] = await readDecisionLog(natsUrl, "replicated");
    expect(log.map((r) => r.seq)).toEqual(log.map((_, i) => i + 1));
    const moves = log.filter((r) => r.from !== r.to);
    expect(moves.map((r) => [r.from, r.to, r.flagRevision])).toEqual([
      ["none", "shadow", 1],
      ["shadow", "live-50", 2],
      ["live-50", "live-100", 3],
      ["live-100", "watch", 4],
      ["watch", "done", 5],
    ]);
    // The flag's revision moved once per transition and never behind the log's back.
    const revisions = [...new Set(log.map((r) => r.flagRevision))];
    expect(revisions).toEqual([1, 2, 3, 4, 5]);
    const file = JSON.parse(await readFile(flagFile, "utf8")) as FlagFile;
    expect(file.flags["umbra.replicated"]?.metadata).toMatchObject({ revision: 5, live: "A" });
    const writes = async (c: PromotingCollector) => {
      const text = await (await fetch(`${c.url}/metrics`)).text();
      return [...text.matchAll(/umbra_collector_flag_writes_total\{[^}]*result="ok"[^}]*\} (\d+)/g)]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    };
    expect((await writes(holder)) + (await writes(other))).toBe(5);
  });
});
