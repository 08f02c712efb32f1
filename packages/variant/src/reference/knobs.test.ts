import http from "node:http";
import type { AddressInfo } from "node:net";
import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import type { ModelResult } from "../model.ts";
import { withKnobs } from "./knobs.ts";
import { testContext } from "./test-context.ts";

const core = (_input: unknown, _ctx: unknown, diverge: boolean): ModelResult => ({
  label: diverge ? "diverged" : "reference",
});

async function outcomes(model: ReturnType<typeof withKnobs>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      out.push(((await model({}, testContext())) as { label: string }).label);
    } catch (e) {
      out.push((e as UmbraError).code);
    }
  }
  return out;
}

describe("reference model knobs", () => {
  it("fails about errorRate of the calls, the same calls for the same seed", async () => {
    const a = await outcomes(withKnobs(core, { errorRate: 0.3, seed: 1 }), 1000);
    const b = await outcomes(withKnobs(core, { errorRate: 0.3, seed: 1 }), 1000);
    const c = await outcomes(withKnobs(core, { errorRate: 0.3, seed: 2 }), 1000);
    const failures = a.filter((o) => o === "internal").length;
    // Binomial(1000, 0.3): mean 300, sd 14.5; ±5 sd.
    expect(failures).toBeGreaterThan(227);
    expect(failures).toBeLessThan(373);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("hangs until the call's signal aborts, then rejects with cancelled", async () => {
    const model = withKnobs(core, { hangProbability: 1 });
    const controller = new AbortController();
    const call = model({}, testContext({ signal: controller.signal }));
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: "cancelled" });
  });

  it("waits its latency (abortably) before answering", async () => {
    const model = withKnobs(core, { latency: { baseMs: 60_000 } });
    const controller = new AbortController();
    let settled = false;
    const call = Promise.resolve(model({}, testContext({ signal: controller.signal }))).finally(
      () => {
        settled = true;
      },
    );
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(UmbraError);
  });

  it("makes only the first warm-up calls slow", async () => {
    const model = withKnobs(core, { warmup: { calls: 1, extraMs: 60_000 } });
    const controller = new AbortController();
    const cold = Promise.resolve(model({}, testContext({ signal: controller.signal })));
    cold.catch(() => undefined);
    // The second call answers while the first, cold one is still waiting.
    expect(await model({}, testContext())).toEqual({ label: "reference" });
    controller.abort();
    await expect(cold).rejects.toMatchObject({ code: "cancelled" });
  });

  it("diverges on the chosen segment only, read from a JSON input's field or else a parameter", async () => {
    const model = withKnobs(core, { divergence: { field: "region", value: "eu" } });
    expect(await model({ region: "eu" }, testContext())).toEqual({ label: "diverged" });
    expect(await model({ region: "us" }, testContext())).toEqual({ label: "reference" });
    expect(await model(new Float32Array(2), testContext({ parameters: { region: "eu" } }))).toEqual(
      { label: "diverged" },
    );
    expect(await model(new Float32Array(2), testContext())).toEqual({ label: "reference" });
  });

  it("diverges on about rate of the segment's calls", async () => {
    const model = withKnobs(core, {
      divergence: { field: "region", value: "eu", rate: 0.5 },
      seed: "d",
    });
    let diverged = 0;
    for (let i = 0; i < 400; i++) {
      if (
        ((await model({ region: "eu" }, testContext())) as { label: string }).label === "diverged"
      )
        diverged++;
    }
    expect(diverged).toBeGreaterThan(150);
    expect(diverged).toBeLessThan(250);
  });

  it("really sends its side effect from a production call", async () => {
    let hits = 0;
    const server = http.createServer((req, res) => {
      hits++;
      req.resume();
      req.on("end", () => res.end());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/write`;
      const model = withKnobs(core, { sideEffect: { url } });
      expect(await model({}, testContext())).toEqual({ label: "reference" });
      expect(hits).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("refuses bad knobs, naming the knob", () => {
    expect(() => withKnobs(core, { errorRate: 1.5 })).toThrow(
      /knobs\.errorRate: must be a number from 0 to 1/,
    );
    expect(() => withKnobs(core, { latency: { baseMs: -1 } })).toThrow(
      /knobs\.latency\.baseMs: must be a finite number >= 0/,
    );
    expect(() => withKnobs(core, { slowFactor: 0.5 })).toThrow(
      /knobs\.slowFactor: must be a number >= 1/,
    );
    expect(() => withKnobs(core, { sideEffect: { url: "nope" } })).toThrow(
      /knobs\.sideEffect\.url: must be an absolute URL/,
    );
  });
});
