// The SDK against real components: a private nats-server, real gRPC variant servers, a real flag
// file served over flagd.sync.v1 to the in-process flagd provider.
import { createFlagEvaluator } from "@umbra/protocol";
import { createShadow, oip, type Shadow } from "@umbra/sdk";
import {
  createTrafficSource,
  type NatsServer,
  startNats,
  type TrafficRequest,
  waitFor,
} from "@umbra/testing";
import {
  garbageModel,
  hangingModel,
  serveVariant,
  slowModel,
  throwingModel,
  type VariantServer,
} from "@umbra/variant";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { score, type TestAnswer } from "./support/model.ts";
import { byVariant, readPairs } from "./support/read-pairs.ts";
import { type ServedFlags, serveFlags, startVariantProcess } from "./support/stack.ts";

type Features = readonly number[];
const silent = pino({ level: "silent" });
const prod = (f: Features): TestAnswer => score(f);

let nats: NatsServer;
const servers: VariantServer[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await Promise.all(servers.map((s) => s.close()));
  await nats?.stop();
});

async function variantServer(
  model: Parameters<typeof serveVariant>[0]["models"][string],
): Promise<VariantServer> {
  const s = await serveVariant({ models: { model }, port: 0 });
  servers.push(s);
  return s;
}

/**
 * Runs requests with bounded concurrency, each arriving in its own macrotask as requests arriving
 * over sockets do (a loop of pure promise chains would never let the SDK's per-tick hand-off run).
 */
async function drive(
  shadow: Shadow<Features, TestAnswer>,
  requests: readonly TrafficRequest[],
  concurrency = 32,
  onProgress?: (done: number) => Promise<void> | void,
) {
  const answers: TestAnswer[] = new Array(requests.length);
  const errors: unknown[] = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= requests.length) return;
      const r = requests[i] as TrafficRequest;
      await new Promise((resolve) => setImmediate(resolve));
      try {
        answers[i] = await shadow.run({
          requestId: r.requestId,
          input: r.input.features ?? [],
          context: r.context,
        });
      } catch (error) {
        errors.push(error);
      }
      done++;
      await onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { answers, errors };
}

describe("sampling through real flags, gRPC and NATS", () => {
  let flags: ServedFlags;
  beforeAll(async () => {
    flags = await serveFlags([
      {
        experiment: "sampling",
        live: "prod",
        revision: 1,
        candidates: [
          { variant: "A", sampleBasisPoints: 10_000 },
          { variant: "B", sampleBasisPoints: 2_500 },
          { variant: "C", sampleBasisPoints: 1_000 },
        ],
      },
      {
        experiment: "sticky",
        live: "prod",
        revision: 1,
        candidates: [{ variant: "B", sampleBasisPoints: 2_500 }],
      },
    ]);
    cleanups.push(() => flags.close());
  });

  it("mirrors 10 000 requests to A at 100%, B at 25%, C at 10%, exactly as the flag buckets them, with production untouched", async () => {
    const [a, b, c] = await Promise.all([
      variantServer((f: Float32Array) => score(f)),
      variantServer((f: Float32Array) => score(f)),
      variantServer((f: Float32Array) => score(f)),
    ]);
    const shadow = await createShadow<Features, TestAnswer>({
      experiment: "sampling",
      flags: { flagd: { host: "127.0.0.1", port: flags.server.port } },
      nats: { servers: nats.url },
      defaultVariant: "prod",
      variants: {
        prod,
        A: oip(a.address, "model", { transport: "stream" }),
        B: oip(b.address, "model"),
        C: oip(c.address, "model"),
      },
      segmentBy: ["device"],
      // The variants share this process's two cores with everything else; a test that expects
      // every mirror answered gives the lanes room instead of shedding (shedding is tested below).
      lane: { queueSize: 20_000, deadlineMs: 5_000 },
      logger: silent,
    });
    cleanups.push(() => shadow.close());
    const requests = createTrafficSource({
      seed: "sampling",
      input: "features",
      featureCount: 8,
    }).take(10_000);
    const { answers, errors } = await drive(shadow, requests);
    expect(errors).toEqual([]);
    for (const [i, r] of requests.entries())
      expect(answers[i]).toEqual(prod(r.input.features ?? []));
    expect(await shadow.settle(60_000)).toBe(true);

    const pairs = byVariant(await readPairs(nats.url, "sampling"));
    const evaluate = createFlagEvaluator(flags.fixture.current());
    const expected = { A: new Set<string>(), B: new Set<string>(), C: new Set<string>() };
    for (const r of requests)
      for (const v of evaluate("sampling", r.requestId).mirror)
        expected[v as "A" | "B" | "C"].add(r.requestId);
    for (const v of ["A", "B", "C"] as const) {
      expect(new Set(pairs.get(v)?.keys())).toEqual(expected[v]);
      expect([...(pairs.get(v)?.values() ?? [])].every((p) => p.shadow.outcome === "ok")).toBe(
        true,
      );
    }
    const n = requests.length;
    expect(expected.A.size).toBe(n);
    expect(Math.abs(expected.B.size - 0.25 * n)).toBeLessThan(4 * Math.sqrt(n * 0.25 * 0.75));
    expect(Math.abs(expected.C.size - 0.1 * n)).toBeLessThan(4 * Math.sqrt(n * 0.1 * 0.9));
    // The shadow saw what production saw and ran the same model behind gRPC (on float32 features,
    // so labels agree while scores differ in the last bits).
    const sample = [...(pairs.get("B")?.values() ?? [])][0];
    if (sample === undefined) throw new Error("no pair for B");
    expect((sample.shadow.output as { label?: string }).label).toBe(
      (sample.production.output as TestAnswer).label,
    );
    expect(sample.flag.revision).toBe(1);
  });

  it("mirrors the same users every time when the targeting key is the user id", async () => {
    const b = await variantServer((f: Float32Array) => score(f));
    const shadow = await createShadow<Features, TestAnswer>({
      experiment: "sticky",
      flags: { flagd: { host: "127.0.0.1", port: flags.server.port } },
      nats: { servers: nats.url },
      defaultVariant: "prod",
      variants: { prod, B: oip(b.address, "model") },
      stickyKey: "userId",
      logger: silent,
    });
    cleanups.push(() => shadow.close());
    const source = createTrafficSource({ seed: "sticky", input: "features", userCount: 200 });
    const first = source.take(2_000);
    const second = source.take(2_000);
    await drive(shadow, [...first, ...second]);
    expect(await shadow.settle(30_000)).toBe(true);
    const mirrored = new Set([
      ...(byVariant(await readPairs(nats.url, "sticky"))
        .get("B")
        ?.keys() ?? []),
    ]);
    const usersOf = (batch: readonly TrafficRequest[]) => {
      const yes = new Set<string>();
      const no = new Set<string>();
      for (const r of batch) (mirrored.has(r.requestId) ? yes : no).add(r.context.userId);
      return { yes, no };
    };
    const one = usersOf(first);
    const two = usersOf(second);
    for (const u of one.yes) expect(one.no.has(u)).toBe(false);
    for (const u of two.yes) expect(one.no.has(u)).toBe(false);
    for (const u of two.no) expect(one.yes.has(u)).toBe(false);
    expect(one.yes.size).toBeGreaterThan(20);
  });
});

describe("fault isolation", () => {
  it("keeps production answers identical and error-free while shadows hang, throw, answer garbage, crash, crawl, and NATS and the flag source go away", async () => {
    const flags = await serveFlags([
      {
        experiment: "faults",
        live: "prod",
        revision: 1,
        candidates: ["hang", "boom", "junk", "slow", "crash", "good"].map((variant) => ({
          variant,
          sampleBasisPoints: 10_000,
        })),
      },
    ]);
    cleanups.push(() => flags.close());
    const [hang, boom, junk, slow, good] = await Promise.all([
      variantServer(hangingModel()),
      variantServer(throwingModel("model exploded")),
      variantServer(garbageModel()),
      variantServer(slowModel((f: Float32Array) => score(f), 50)),
      variantServer((f: Float32Array) => score(f)),
    ]);
    const crash = await startVariantProcess();
    cleanups.push(async () => crash.kill());
    const shadow = await createShadow<Features, TestAnswer>({
      experiment: "faults",
      flags: { flagd: { host: "127.0.0.1", port: flags.server.port } },
      // Sized for this outage at full speed: six records per request for a few seconds.
      nats: { servers: nats.url, publishTimeoutMs: 1_000, maxBufferedRecords: 100_000 },
      defaultVariant: "prod",
      variants: {
        prod,
        hang: oip(hang.address, "model", { lane: { deadlineMs: 300 } }),
        boom: oip(boom.address, "model"),
        junk: oip(junk.address, "model"),
        slow: oip(slow.address, "model", { transport: "stream" }),
        crash: oip(crash.address, "model"),
        good: oip(good.address, "model", { transport: "stream" }),
      },
      lane: {
        deadlineMs: 2_000,
        queueSize: 5_000,
        healthIntervalMs: 250,
        breaker: { failureRate: 0.5, windowMs: 5_000, minimumRps: 1, halfOpenAfterMs: 60_000 },
      },
      logger: silent,
    });
    cleanups.push(() => shadow.close());
    const requests = createTrafficSource({ seed: "faults", input: "features" }).take(3_000);
    const { answers, errors } = await drive(shadow, requests, 16, async (done) => {
      if (done === 600) {
        // Crash it mid-run: after it has answered some mirrors, while requests keep coming.
        await waitFor(() => (shadow.stats().engine?.outcomes.crash?.ok ?? 0) > 0, {
          timeoutMs: 20_000,
          message: "the crashing variant answered before its crash",
        });
        crash.kill();
      }
      if (done === 1_200) {
        // NATS goes away while requests keep flowing; production must not notice.
        await nats.restart();
      }
      if (done === 2_000) await flags.server.close();
    });
    expect(errors).toEqual([]);
    for (const [i, r] of requests.entries())
      expect(answers[i]).toEqual(prod(r.input.features ?? []));
    expect(await shadow.settle(60_000)).toBe(true);

    const pairs = byVariant(await readPairs(nats.url, "faults"));
    const outcomes = (v: string) => {
      const counts: Record<string, number> = {};
      for (const p of pairs.get(v)?.values() ?? [])
        counts[p.shadow.outcome] = (counts[p.shadow.outcome] ?? 0) + 1;
      return counts;
    };
    // Every planned mirror (every request, every variant) ends in exactly one record.
    for (const v of ["hang", "boom", "junk", "slow", "crash", "good"]) {
      expect(new Set(pairs.get(v)?.keys())).toEqual(new Set(requests.map((r) => r.requestId)));
    }
    expect(outcomes("good")).toEqual({ ok: requests.length });
    expect(outcomes("boom").ok).toBeUndefined();
    expect(outcomes("boom").rejected_by_breaker ?? 0).toBeGreaterThan(0);
    expect(outcomes("hang").ok).toBeUndefined();
    expect((outcomes("crash").ok ?? 0) > 0 && (outcomes("crash").ok ?? 0) < requests.length).toBe(
      true,
    );
    const lanes = shadow.stats().engine?.lanes ?? {};
    expect(lanes.good?.breaker).toBe("closed");
    expect(lanes.boom?.breaker).not.toBe("closed");
    expect(lanes.hang?.breaker).not.toBe("closed");
  });
});

describe("flag changes in a running SDK", () => {
  it("follows a ramp, a promotion and the kill switch without a restart", async () => {
    const base = {
      experiment: "changes",
      live: "prod",
      candidates: [
        { variant: "A", sampleBasisPoints: 10_000 },
        { variant: "B", sampleBasisPoints: 2_500 },
      ],
    };
    const flags = await serveFlags([{ ...base, revision: 1 }]);
    cleanups.push(() => flags.close());
    const a = await variantServer((f: Float32Array) => ({ ...score(f), label: "from-A" }));
    const b = await variantServer((f: Float32Array) => score(f));
    const shadow = await createShadow<Features, TestAnswer>({
      experiment: "changes",
      flags: { flagd: { host: "127.0.0.1", port: flags.server.port } },
      nats: { servers: nats.url },
      defaultVariant: "prod",
      variants: { prod, A: oip(a.address, "model"), B: oip(b.address, "model") },
      logger: silent,
    });
    cleanups.push(() => shadow.close());
    const ids = Array.from({ length: 400 }, (_, i) => `change-${i}`);
    const share = async (variant: string) => {
      let n = 0;
      for (const requestId of ids)
        if ((await shadow.plan({ requestId })).mirror.includes(variant)) n++;
      return n / ids.length;
    };
    const rampedB = (await share("B")) < 0.4;
    expect(rampedB).toBe(true);

    await flags.set({
      ...base,
      revision: 2,
      candidates: [
        { variant: "A", sampleBasisPoints: 10_000 },
        { variant: "B", sampleBasisPoints: 10_000 },
      ],
    });
    await waitFor(async () => (await shadow.plan({ requestId: "change-1" })).revision === 2, {
      timeoutMs: 10_000,
      message: "revision 2 reached the SDK",
    });
    expect(await share("B")).toBe(1);

    await flags.set({
      ...base,
      revision: 3,
      stage: "live-100",
      rollout: { variant: "A", basisPoints: 10_000 },
    });
    await waitFor(async () => (await shadow.plan({ requestId: "change-1" })).revision === 3, {
      timeoutMs: 10_000,
      message: "revision 3 reached the SDK",
    });
    const answer = await shadow.run({ requestId: "change-1", input: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(answer.label).toBe("from-A");

    await flags.set({ ...base, revision: 4, enabled: false });
    await waitFor(
      async () => (await shadow.plan({ requestId: "change-1" })).reason === "DISABLED",
      { timeoutMs: 10_000, message: "the kill switch reached the SDK" },
    );
    const off = await shadow.run({ requestId: "change-2", input: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(off).toEqual(prod([1, 2, 3, 4, 5, 6, 7, 8]));
    expect((await shadow.plan({ requestId: "change-2" })).mirror).toEqual([]);
  });
});
