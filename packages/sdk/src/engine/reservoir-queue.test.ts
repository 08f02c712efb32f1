import { describe, expect, it } from "vitest";
import { ReservoirQueue } from "./reservoir-queue.ts";

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("ReservoirQueue", () => {
  it("keeps FIFO order while there is room", () => {
    const q = new ReservoirQueue<number>(3, seeded(1));
    expect([q.offer(1), q.offer(2), q.offer(3)]).toEqual([undefined, undefined, undefined]);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([1, 2, 3, undefined]);
  });

  it("never holds more than its capacity and hands back exactly one item per overflowing offer", () => {
    const q = new ReservoirQueue<number>(10, seeded(2));
    const dropped: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const d = q.offer(i);
      if (d !== undefined) dropped.push(d);
      expect(q.length).toBeLessThanOrEqual(10);
    }
    const kept = q.drain();
    expect(kept.length + dropped.length).toBe(1_000);
    expect(new Set([...kept, ...dropped]).size).toBe(1_000);
  });

  it("keeps a representative sample of a long burst, not just its beginning", () => {
    // Over many runs, every position of a 1 000-item burst is kept with probability 10/1 000.
    const kept = new Array<number>(10).fill(0);
    for (let run = 0; run < 2_000; run++) {
      const q = new ReservoirQueue<number>(10, seeded(run + 10));
      for (let i = 0; i < 1_000; i++) q.offer(i);
      for (const v of q.drain()) kept[Math.floor(v / 100)] = (kept[Math.floor(v / 100)] ?? 0) + 1;
    }
    // 2 000 runs × 10 kept = 20 000 items over 10 deciles: 2 000 each, sd ≈ 42.
    for (const k of kept) expect(Math.abs(k - 2_000)).toBeLessThan(250);
  });

  it("drops every offer when its capacity is zero", () => {
    const q = new ReservoirQueue<string>(0, seeded(3));
    expect(q.offer("a")).toBe("a");
    expect(q.length).toBe(0);
  });
});
