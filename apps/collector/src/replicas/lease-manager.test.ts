import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats, type NatsServer, startNats, waitFor } from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBuckets } from "../checkpoint/open-buckets.ts";
import { LeaseManager } from "./lease-manager.ts";

let nats: NatsServer;
let nc: NatsConnection;
let kv: KV;
const TTL_MS = 1_000;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats(nats.url);
  kv = (await openBuckets(nc, { leaseTtlMs: TTL_MS, replicas: 1 })).leases;
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const manager = (replicaId: string, incarnation: string) =>
  new LeaseManager({ kv, replicaId, incarnation, now: Date.now });

describe("LeaseManager", () => {
  it("gives an experiment's lease to one replica only", async () => {
    const a = manager("a", "1");
    const b = manager("b", "1");
    expect(await a.acquire("exp1")).toBeGreaterThan(0);
    expect(await b.acquire("exp1")).toBeUndefined();
    expect((await b.holder("exp1"))?.owner).toBe("a");
    expect(await a.renew()).toEqual([]);
  });

  it("frees a lease on release, for another replica to take at once", async () => {
    const a = manager("a", "1");
    const b = manager("b", "1");
    await a.acquire("exp2");
    await a.release("exp2");
    expect(await b.acquire("exp2")).toBeGreaterThan(0);
  });

  it("lets a lease expire when its holder stops renewing, and the holder learns it lost it", async () => {
    const a = manager("a", "1");
    const b = manager("b", "1");
    await a.acquire("exp3");
    const revision = await waitFor(() => b.acquire("exp3"), {
      timeoutMs: TTL_MS * 5,
      intervalMs: 50,
      message: "the lease expired and b took it",
    });
    expect(revision).toBeGreaterThan(0);
    expect(await a.renew()).toEqual(["exp3"]);
    expect(a.held().has("exp3")).toBe(false);
  });

  it("hands a replica's lease to its next incarnation under the same id at once", async () => {
    const before = manager("c", "old");
    await before.acquire("exp4");
    const after = manager("c", "new");
    expect(await after.acquire("exp4")).toBeGreaterThan(0);
    expect(await before.renew()).toEqual(["exp4"]);
  });

  it("counts the replicas that announced themselves", async () => {
    const a = manager("x", "1");
    const b = manager("y", "1");
    await a.announce();
    await b.announce();
    expect(await a.aliveReplicas()).toBeGreaterThanOrEqual(2);
    await b.withdraw();
    await waitFor(
      async () =>
        !(await kv.keys("replica.y").then(async (it) => {
          for await (const _ of it) return true;
          return false;
        })),
      { timeoutMs: 2_000, message: "y withdrawn" },
    );
  });
});
