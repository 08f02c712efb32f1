import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import {
  flakyModel,
  GARBAGE_OUTPUTS,
  garbageModel,
  hangingModel,
  type ModelFunction,
  slowModel,
  throwingModel,
} from "./misbehaving-models.ts";
import { createRandom } from "./random.ts";

const echo: ModelFunction = (input) => ({ echoed: input });

describe("misbehaving models", () => {
  it("hangingModel never answers and rejects with 'cancelled' once the signal aborts", async () => {
    const controller = new AbortController();
    let settled = false;
    const pending = Promise.resolve(hangingModel()({}, { signal: controller.signal })).finally(
      () => {
        settled = true;
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    controller.abort(new Error("deadline"));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UmbraError);
    expect(error).toMatchObject({ code: "cancelled" });
    expect((error as Error).cause).toEqual(new Error("deadline"));
  });

  it("hangingModel rejects at once when the signal is already aborted", async () => {
    await expect(
      Promise.resolve(hangingModel()(null, { signal: AbortSignal.abort() })),
    ).rejects.toMatchObject({ code: "cancelled" });
  });

  it("throwingModel throws synchronously by default and rejects in async mode", async () => {
    expect(() => throwingModel("boom")({}, {})).toThrow("boom");
    const rejected = throwingModel("later", { mode: "async" })({}, {});
    expect(rejected).toBeInstanceOf(Promise);
    await expect(rejected).rejects.toThrow("later");
  });

  it("slowModel answers what the inner model answers, after at least minDelayMs", async () => {
    const model = slowModel(echo, 3, { minDelayMs: 20 });
    const started = performance.now();
    await expect(model("x", {})).resolves.toEqual({ echoed: "x" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
  });

  it("slowModel stops waiting when the signal aborts", async () => {
    const controller = new AbortController();
    const pending = Promise.resolve(
      slowModel(echo, 1, { minDelayMs: 60_000 })("x", { signal: controller.signal }),
    );
    setImmediate(() => controller.abort());
    await expect(pending).rejects.toMatchObject({ code: "cancelled" });
  });

  it("garbageModel returns every kind of malformed output in turn", () => {
    const model = garbageModel();
    const outputs = GARBAGE_OUTPUTS.map(() => model({}, {}));
    const kinds = new Set(outputs.map((o) => (o === null ? "null" : typeof o)));
    expect(kinds).toEqual(
      new Set(["undefined", "null", "number", "string", "object", "bigint", "symbol", "function"]),
    );
    expect(outputs.some((o) => typeof o === "number" && Number.isNaN(o))).toBe(true);
    expect(() =>
      JSON.stringify(outputs.find((o) => typeof o === "object" && o !== null && "self" in o)),
    ).toThrow();
  });

  it("garbageModel picks reproducibly when given a seeded source", () => {
    const sample = (seed: number) => {
      const model = garbageModel({ rng: createRandom(seed) });
      return Array.from({ length: 20 }, () => String(typeof model({}, {})));
    };
    expect(sample(1)).toEqual(sample(1));
  });

  it("flakyModel fails about errorRate of calls, the same calls for the same seed", async () => {
    const run = async (seed: number) => {
      const model = flakyModel(echo, 0.3, createRandom(seed));
      const results: boolean[] = [];
      for (let i = 0; i < 1_000; i++) {
        results.push(
          await Promise.resolve(model(i, {})).then(
            () => true,
            () => false,
          ),
        );
      }
      return results;
    };
    const first = await run(99);
    expect(await run(99)).toEqual(first);
    expect(first.filter((ok) => !ok).length / 1_000).toBeCloseTo(0.3, 1);
  });

  it("rejects bad parameters naming the field", () => {
    expect(() => slowModel(echo, 0.5)).toThrow(/factor: must be a finite number >= 1/);
    expect(() => flakyModel(echo, 2, createRandom(1))).toThrow(/errorRate/);
  });
});
