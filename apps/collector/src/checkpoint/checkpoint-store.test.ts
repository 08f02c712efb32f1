import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats, createRandom, type NatsServer, startNats } from "@umbra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CollectorError } from "../collector-error.ts";
import { CheckpointStore } from "./checkpoint-store.ts";
import { openBuckets } from "./open-buckets.ts";

let nats: NatsServer;
let nc: NatsConnection;
let kv: KV;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats(nats.url);
  kv = (await openBuckets(nc, { leaseTtlMs: 5_000, replicas: 1 })).checkpoints;
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** JSON that does not compress well, so it needs several chunks of 2 KiB. */
function bulky(seed: number, count: number): string {
  const rng = createRandom(seed);
  return JSON.stringify(Array.from({ length: count }, () => rng.uuid()));
}

describe("CheckpointStore", () => {
  it("reads back what it wrote, inline when small", async () => {
    const store = new CheckpointStore(kv, { maxPayloadBytes: 1_048_576 });
    expect(await store.read("small")).toBeUndefined();
    const revision = await store.write("small", '{"a":1}', undefined, "r1", 42);
    const read = await store.read("small");
    expect(read).toEqual({ revision, owner: "r1", writtenAtMs: 42, json: '{"a":1}' });
  });

  it("splits a state larger than one message into chunks and reads it back whole", async () => {
    const store = new CheckpointStore(kv, { maxPayloadBytes: 6_000 });
    const json = bulky(1, 2_000);
    const r1 = await store.write("big", json, undefined, "r1", 1);
    expect((await store.read("big"))?.json).toBe(json);
    const chunkKeys = async () => {
      const keys: string[] = [];
      for await (const k of await kv.keys("chunk.big.>")) keys.push(k);
      return keys;
    };
    const first = await chunkKeys();
    expect(first.length).toBeGreaterThan(2);
    // A new generation replaces the old one, whose chunks are purged after the commit.
    const json2 = bulky(2, 2_000);
    await store.write("big", json2, r1, "r1", 2);
    expect((await store.read("big"))?.json).toBe(json2);
    const second = await chunkKeys();
    expect(second.some((k) => first.includes(k))).toBe(false);
  });

  it("refuses a write from a stale revision with a conflict", async () => {
    const a = new CheckpointStore(kv, { maxPayloadBytes: 1_048_576 });
    const b = new CheckpointStore(kv, { maxPayloadBytes: 1_048_576 });
    const r1 = await a.write("contended", '{"v":1}', undefined, "a", 1);
    await b.write("contended", '{"v":2}', r1, "b", 2);
    const stale = a.write("contended", '{"v":3}', r1, "a", 3);
    await expect(stale).rejects.toBeInstanceOf(CollectorError);
    await expect(stale).rejects.toMatchObject({ code: "conflict" });
    expect((await a.read("contended"))?.json).toBe('{"v":2}');
    await expect(a.write("contended", "{}", undefined, "a", 4)).rejects.toMatchObject({
      code: "conflict",
    });
  });

  it("purges chunks that no head references (a writer that crashed before its commit)", async () => {
    const store = new CheckpointStore(kv, { maxPayloadBytes: 6_000 });
    const r = await store.write("orphans", bulky(3, 2_000), undefined, "r1", 1);
    // A stale writer's chunks land, but its head update loses the CAS.
    const stale = new CheckpointStore(kv, { maxPayloadBytes: 6_000 });
    await store.write("orphans", bulky(4, 2_000), r, "r1", 2);
    await expect(stale.write("orphans", bulky(5, 2_000), r, "r2", 3)).rejects.toMatchObject({
      code: "conflict",
    });
    expect(await store.purgeOrphans("orphans")).toBeGreaterThan(0);
    expect(await store.purgeOrphans("orphans")).toBe(0);
    expect((await store.read("orphans"))?.json).toBe(bulky(4, 2_000));
  });
});
