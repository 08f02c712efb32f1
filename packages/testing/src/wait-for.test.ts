import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { waitFor } from "./wait-for.ts";

describe("waitFor", () => {
  it("resolves the first truthy value the predicate returns", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it("accepts async predicates and treats a throwing predicate as 'not yet'", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error("not ready");
        return "ready";
      },
      { intervalMs: 1 },
    );
    expect(value).toBe("ready");
  });

  it("times out with a deadline_exceeded error that names what was awaited", async () => {
    const error = await waitFor(() => false, {
      timeoutMs: 30,
      intervalMs: 5,
      message: "the pair record for r-1",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UmbraError);
    expect(error).toMatchObject({ code: "deadline_exceeded" });
    expect((error as Error).message).toMatch(
      /^waitFor: the pair record for r-1: not met within 30 ms \(\d+ checks; last value false\)$/,
    );
  });

  it("keeps the predicate's last error as the cause of the timeout", async () => {
    const error = await waitFor(
      () => {
        throw new Error("stream not found");
      },
      { timeoutMs: 20, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/last error: stream not found/);
    expect((error as Error).cause).toEqual(new Error("stream not found"));
  });

  it("stops early with 'cancelled' when its signal aborts", async () => {
    const controller = new AbortController();
    const pending = waitFor(() => false, { timeoutMs: 60_000, signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(pending).rejects.toMatchObject({ code: "cancelled" });
  });

  it("rejects a negative timeout naming the field", async () => {
    await expect(waitFor(() => true, { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
  });
});
