// Unit tests of the SDK's own logic: flags from an InMemoryProvider, shadow variants behind the
// SDK's VariantCaller interface, records in the in-memory sink. The real gRPC / NATS / flagd paths
// are covered by the integration tests in test/.
import { InMemoryProvider } from "@openfeature/server-sdk";
import type { PairRecord } from "@umbra/protocol";
import { UmbraError } from "@umbra/protocol";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createShadow, type Shadow, type ShadowOptions } from "./create-shadow.ts";
import type { MirrorAnswer, MirrorCall, VariantCaller } from "./engine/types.ts";
import { oip } from "./variants.ts";

type Input = { x: number; email?: string };
type Output = { label: string };

const prod = (input: Input): Output => ({ label: input.x > 0 ? "pos" : "neg" });

/** A flag whose plan comes from `choose(targetingKey)`: `"prod+A+B"` style keys. */
function provider(choose: (key: string) => string, disabled = false): InMemoryProvider {
  const variants: Record<string, { live: string; mirror: string[] }> = {};
  for (const key of ["prod", "prod+A", "prod+B", "prod+A+B", "A", "A+B"]) {
    const [live, ...mirror] = key.split("+") as [string, ...string[]];
    variants[key] = { live, mirror };
  }
  return new InMemoryProvider({
    "umbra.ranker": {
      variants,
      defaultVariant: "prod",
      disabled,
      contextEvaluator: (ctx) => choose(String(ctx.targetingKey)),
    },
  });
}

/** A caller that answers like the production model, after an optional delay, and records calls. */
function caller(
  behaviour: "ok" | "throw" | "hang" | "wrong" = "ok",
): VariantCaller & { calls: MirrorCall[] } {
  const calls: MirrorCall[] = [];
  return {
    calls,
    async call(call): Promise<MirrorAnswer> {
      calls.push(call);
      if (behaviour === "throw") throw new UmbraError("internal", "model exploded");
      if (behaviour === "hang") return new Promise<never>(() => {});
      const input = (await import("@umbra/protocol")).decodeValue(call.input.bytes) as Input;
      const label = behaviour === "wrong" ? "neg" : prod(input).label;
      return { output: { label }, sideEffectAttempts: 0 };
    },
    isReady: async () => true,
    close: async () => {},
  };
}

const shadows: Shadow<Input, Output>[] = [];
async function make(
  overrides: Partial<ShadowOptions<Input, Output>> = {},
): Promise<Shadow<Input, Output>> {
  const s = await createShadow<Input, Output>({
    experiment: "ranker",
    variants: { prod, A: oip("127.0.0.1:1", "a"), B: oip("127.0.0.1:2", "b") },
    flags: { provider: provider(() => "prod+A+B") },
    defaultVariant: "prod",
    sink: "memory",
    engine: "inline",
    callers: { A: caller(), B: caller() },
    segmentBy: ["device"],
    lane: { healthIntervalMs: 0 },
    logger: pino({ level: "silent" }),
    ...overrides,
  });
  shadows.push(s);
  return s;
}
const pairs = (s: Shadow<Input, Output>) => (s.records?.pairs ?? []) as PairRecord[];

afterEach(async () => {
  await Promise.all(shadows.splice(0).map((s) => s.close()));
});

describe("createShadow", () => {
  it("answers from the live model exactly as calling it directly, and records one ok pair per mirror", async () => {
    const s = await make();
    for (let i = 0; i < 50; i++) {
      const input = { x: i - 25 };
      expect(await s.run({ requestId: `r-${i}`, input, context: { device: "mobile" } })).toEqual(
        prod(input),
      );
    }
    expect(await s.settle(5_000)).toBe(true);
    const records = pairs(s);
    expect(records).toHaveLength(100);
    expect(records.every((r) => r.shadow.outcome === "ok" && r.liveVariant === "prod")).toBe(true);
    const byRequest = new Map(
      records.filter((r) => r.variant === "A").map((r) => [r.requestId, r]),
    );
    expect(byRequest.get("r-30")?.production.output).toEqual({ label: "pos" });
    expect(byRequest.get("r-30")?.segment).toEqual({ device: "mobile" });
  });

  it("mirrors only what the plan says, per request", async () => {
    const s = await make({
      flags: { provider: provider((k) => (k.endsWith("1") ? "prod+B" : "prod")) },
    });
    for (let i = 0; i < 20; i++) await s.run({ requestId: `r-${i}`, input: { x: 1 } });
    await s.settle(5_000);
    expect(
      pairs(s)
        .map((r) => `${r.requestId}:${r.variant}`)
        .sort(),
    ).toEqual(["r-11:B", "r-1:B"].sort());
  });

  it("keeps production answers and records an error outcome when a shadow throws", async () => {
    const s = await make({ callers: { A: caller("throw"), B: caller() } });
    const answer = await s.run({ requestId: "r-1", input: { x: 3 } });
    expect(answer).toEqual({ label: "pos" });
    await s.settle(5_000);
    const a = pairs(s).find((r) => r.variant === "A");
    expect(a?.shadow).toMatchObject({ outcome: "error", error: { code: "internal" } });
    expect(pairs(s).find((r) => r.variant === "B")?.shadow.outcome).toBe("ok");
  });

  it("records a timeout and frees the slot when a shadow never answers, even if its caller ignores the deadline", async () => {
    const s = await make({
      callers: { A: caller("hang"), B: caller() },
      lane: { healthIntervalMs: 0, deadlineMs: 30, maxInFlight: 1 },
    });
    for (let i = 0; i < 3; i++) await s.run({ requestId: `r-${i}`, input: { x: 1 } });
    expect(await s.settle(5_000)).toBe(true);
    const a = pairs(s).filter((r) => r.variant === "A");
    expect(a).toHaveLength(3);
    expect(a.every((r) => r.shadow.outcome === "timeout")).toBe(true);
  });

  it("opens the breaker of the failing variant only, while the other keeps mirroring", async () => {
    const s = await make({
      callers: { A: caller("throw"), B: caller() },
      lane: {
        healthIntervalMs: 0,
        breaker: { failureRate: 0.5, windowMs: 60_000, minimumRps: 0.01, halfOpenAfterMs: 60_000 },
      },
    });
    for (let i = 0; i < 200; i++) {
      await s.run({ requestId: `r-${i}`, input: { x: 1 } });
      if (i % 20 === 0) await s.settle(5_000);
    }
    await s.settle(5_000);
    const a = pairs(s)
      .filter((r) => r.variant === "A")
      .map((r) => r.shadow.outcome);
    const b = pairs(s)
      .filter((r) => r.variant === "B")
      .map((r) => r.shadow.outcome);
    expect(a).toHaveLength(200);
    expect(a.filter((o) => o === "rejected_by_breaker").length).toBeGreaterThan(100);
    expect(b.every((o) => o === "ok")).toBe(true);
    expect(s.stats().engine?.lanes.A?.breaker).toBe("open");
    expect(s.stats().engine?.lanes.B?.breaker).toBe("closed");
  });

  it("ends every planned mirror in exactly one record when the queue overflows", async () => {
    const s = await make({
      callers: { A: caller("hang"), B: caller() },
      lane: { healthIntervalMs: 0, deadlineMs: 200, maxInFlight: 2, queueSize: 5 },
    });
    const runs = [];
    for (let i = 0; i < 100; i++) runs.push(s.run({ requestId: `r-${i}`, input: { x: 1 } }));
    await Promise.all(runs);
    expect(await s.settle(10_000)).toBe(true);
    const a = pairs(s).filter((r) => r.variant === "A");
    expect(new Set(a.map((r) => r.requestId)).size).toBe(100);
    expect(a).toHaveLength(100);
    const outcomes = new Set(a.map((r) => r.shadow.outcome));
    expect(outcomes).toEqual(new Set(["dropped", "timeout"]));
    expect(
      a
        .filter((r) => r.shadow.outcome === "dropped")
        .every((r) => r.shadow.dropReason === "queue_full"),
    ).toBe(true);
  });

  it("answers from the default variant and mirrors nothing when the flag is disabled", async () => {
    const s = await make({ flags: { provider: provider(() => "A+B", true) } });
    expect(await s.run({ requestId: "r-1", input: { x: -1 } })).toEqual({ label: "neg" });
    await s.settle(5_000);
    expect(pairs(s)).toHaveLength(0);
    expect((await s.plan({ requestId: "r-1" })).reason).toBe("DISABLED");
  });

  it("answers from the fallback when a promoted remote live variant fails, and records it", async () => {
    const failing = caller("throw");
    const s = await make({
      flags: { provider: provider(() => "A+B") },
      callers: { A: failing, B: caller() },
    });
    expect(await s.run({ requestId: "r-1", input: { x: 2 } })).toEqual({ label: "pos" });
    await s.settle(5_000);
    expect(s.stats().liveFallbacks).toBe(1);
    const b = pairs(s).find((r) => r.variant === "B");
    expect(b?.liveVariant).toBe("prod");
    expect(b?.production.error?.code).toBe("fallback_used");
  });

  it("throws the live model's own error to the caller, as without the SDK, and still records the pair", async () => {
    const boom = () => {
      throw new Error("prod broke");
    };
    const s = await make({
      variants: { prod: boom, A: oip("127.0.0.1:1", "a"), B: oip("127.0.0.1:2", "b") },
    });
    await expect(s.run({ requestId: "r-1", input: { x: 1 } })).rejects.toThrow("prod broke");
    await s.settle(5_000);
    expect(pairs(s).find((r) => r.variant === "A")?.production.error).toEqual({
      code: "Error",
      message: "prod broke",
    });
  });

  it("does not mirror a request whose id is not printable ASCII, and still answers it", async () => {
    const s = await make();
    expect(await s.run({ requestId: "réq 1", input: { x: 1 } })).toEqual({ label: "pos" });
    await s.settle(5_000);
    expect(pairs(s)).toHaveLength(0);
    expect(s.stats().invalidRequestIds).toBe(1);
  });

  it("marks mirrors as shadow, carries the request id, and strips credentials from forwarded headers", async () => {
    const a = caller();
    const s = await make({ callers: { A: a, B: caller() } });
    await s.run({
      requestId: "r-1",
      input: { x: 1 },
      headers: {
        Authorization: "Bearer x",
        cookie: "c",
        traceparent: "00-abc-def-01",
        "x-tenant": "t1",
        "x-umbra-shadow": "0",
      },
    });
    await s.settle(5_000);
    expect(a.calls[0]?.metadata).toEqual({
      "x-umbra-shadow": "1",
      "x-request-id": "r-1",
      traceparent: "00-abc-def-01",
      "x-tenant": "t1",
    });
  });

  it("sends the same encoded input to every shadow, captured before production could mutate it", async () => {
    const a = caller();
    const b = caller();
    const mutating = (input: Input): Output => {
      input.x = -999;
      return { label: "pos" };
    };
    const s = await make({
      variants: { prod: mutating, A: oip("127.0.0.1:1", "a"), B: oip("127.0.0.1:2", "b") },
      callers: { A: a, B: b },
    });
    await s.run({ requestId: "r-1", input: { x: 5 } });
    await s.settle(5_000);
    expect(
      Buffer.from(a.calls[0]?.input.bytes ?? []).equals(Buffer.from(b.calls[0]?.input.bytes ?? [])),
    ).toBe(true);
    expect(
      (await import("@umbra/protocol")).decodeValue(a.calls[0]?.input.bytes ?? new Uint8Array()),
    ).toEqual({ x: 5 });
  });

  it("captures the full input after redaction, or its hash", async () => {
    const full = await make({ capture: { mode: "full", redact: ["/email"] } });
    await full.run({ requestId: "r-1", input: { x: 1, email: "a@b.c" } });
    await full.settle(5_000);
    expect(pairs(full)[0]?.input).toEqual({ capture: "full", value: { x: 1 } });
    const hashed = await make();
    await hashed.run({ requestId: "r-1", input: { x: 1, email: "a@b.c" } });
    await hashed.settle(5_000);
    expect(pairs(hashed)[0]?.input).toMatchObject({
      capture: "sha256",
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it("uses the sticky key as targeting key, so one user's requests share a plan", async () => {
    const seen: string[] = [];
    const s = await make({
      stickyKey: "userId",
      flags: {
        provider: provider((k) => {
          seen.push(k);
          return "prod";
        }),
      },
    });
    await s.run({ requestId: "r-1", input: { x: 1 }, context: { userId: "u-7" } });
    await s.run({ requestId: "r-2", input: { x: 1 } });
    expect(seen).toEqual(["u-7", "r-2"]);
  });

  it("publishes exposure counts whose mirrors add up", async () => {
    const s = await make({ exposureIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++)
      await s.run({
        requestId: `r-${i}`,
        input: { x: 1 },
        context: { device: i < 4 ? "mobile" : "desktop" },
      });
    await s.close();
    const exposures = (s.records?.exposures ?? []) as {
      entries: {
        segment: Record<string, string>;
        requests: number;
        mirrors: Record<string, { planned: number; dispatched: number }>;
      }[];
    }[];
    const entries = exposures.flatMap((e) => e.entries);
    const mobile = entries.find((e) => e.segment.device === "mobile");
    expect(mobile?.requests).toBe(4);
    expect(mobile?.mirrors.A).toMatchObject({ planned: 4, dispatched: 4 });
    expect(entries.reduce((n, e) => n + e.requests, 0)).toBe(10);
  });

  it("refuses bad options, naming the field", async () => {
    await expect(make({ experiment: "a.b" })).rejects.toThrow(/^experiment: /);
    await expect(make({ defaultVariant: "Z" })).rejects.toThrow(
      /^defaultVariant: must name one of the variants/,
    );
    await expect(make({ variants: { prod, A: oip("nohost", "a") } })).rejects.toThrow(
      /^variants\.A\.address: must be host:port/,
    );
    await expect(make({ nats: { servers: "nats://127.0.0.1:1" } })).rejects.toThrow(
      /^nats: give exactly one/,
    );
  });
});
