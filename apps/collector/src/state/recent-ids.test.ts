import { describe, expect, it } from "vitest";
import { RecentIds } from "./recent-ids.ts";

describe("RecentIds", () => {
  it("recognises an id it has seen and refuses to add it twice", () => {
    const ids = new RecentIds(3);
    expect(ids.add("a")).toBe(true);
    expect(ids.add("a")).toBe(false);
    expect(ids.has("a")).toBe(true);
  });

  it("evicts the oldest id first once full and counts the evictions", () => {
    const ids = new RecentIds(2, ["a", "b"]);
    ids.add("c");
    expect(ids.toArray()).toEqual(["b", "c"]);
    expect(ids.has("a")).toBe(false);
    expect(ids.evicted).toBe(1);
  });

  it("restores the same order it serialised", () => {
    const ids = new RecentIds(5, ["x", "y", "z"]);
    expect(new RecentIds(5, ids.toArray()).toArray()).toEqual(["x", "y", "z"]);
  });

  it("remembers nothing with capacity zero", () => {
    const ids = new RecentIds(0);
    expect(ids.add("a")).toBe(true);
    expect(ids.add("a")).toBe(true);
    expect(ids.size).toBe(0);
  });
});
