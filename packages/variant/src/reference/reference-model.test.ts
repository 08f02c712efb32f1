import { describe, expect, it } from "vitest";
import type { ModelDefinition } from "../model.ts";
import { garbageModel, hangingModel, slowModel, throwingModel } from "./misbehaving.ts";
import { referenceModel } from "./reference-model.ts";
import { testContext } from "./test-context.ts";

type Out = { label?: string; scores?: Float32Array; embedding?: Float32Array; text?: string };
const run = async (m: ModelDefinition, input: unknown, parameters = {}) =>
  (await m.predict(input, testContext({ parameters }))) as Out;

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * (b[i] ?? 0), 0);

describe("reference models", () => {
  const x = new Float32Array([0.3, -1.2, 0.8, 0.05, 2.1, -0.4, 0.9, -0.7]);

  it("classify the same features the same way in every instance with the same weights", async () => {
    const a = await run(referenceModel("classifier"), x);
    const b = await run(referenceModel("classifier", { seed: "other knobs seed" }), x);
    expect(b).toEqual(a);
    expect(a.scores?.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    const other = await run(referenceModel("classifier", { weightsSeed: "v2" }), x);
    expect(other.scores).not.toEqual(a.scores);
  });

  it("classify JSON feature maps by their numeric fields in key order", async () => {
    const m = referenceModel("classifier", { input: "json", featureCount: 3 });
    expect(m.inputs).toEqual([{ name: "input", datatype: "BYTES", shape: [1] }]);
    const a = await run(m, { b: 2, a: 1, c: 3, region: "eu" });
    const b = await run(
      referenceModel("classifier", { featureCount: 3 }),
      new Float32Array([1, 2, 3]),
    );
    expect(a).toEqual(b);
  });

  it("change the label on the divergent segment", async () => {
    const m = referenceModel("classifier", { divergence: { field: "region", value: "eu" } });
    const us = await run(m, x, { region: "us" });
    const eu = await run(m, x, { region: "eu" });
    expect(eu.label).not.toBe(us.label);
  });

  it("embed text as a deterministic 64-dimension unit vector, far from it on the divergent segment", async () => {
    const m = referenceModel("embedding", { divergence: { field: "lang", value: "de" } });
    const a = (await run(m, { text: "the quick brown fox" })).embedding as Float32Array;
    const b = (await run(m, "the quick brown fox")).embedding as Float32Array;
    expect(a).toHaveLength(64);
    expect(cosine(a, a)).toBeCloseTo(1, 5);
    expect(b).toEqual(a);
    const near = (await run(m, "the quick brown cat")).embedding as Float32Array;
    expect(cosine(a, near)).toBeGreaterThan(0.5);
    const diverged = (await run(m, { text: "the quick brown fox", lang: "de" }))
      .embedding as Float32Array;
    expect(cosine(a, diverged)).toBeLessThan(0.9);
  });

  it("embed feature vectors through a fixed projection", async () => {
    const m = referenceModel("embedding", { input: "features", dimensions: 16 });
    const a = (await run(m, x)).embedding as Float32Array;
    expect(a).toHaveLength(16);
    expect((await run(m, x)).embedding).toEqual(a);
  });

  it("write the same short text for the same prompt and another on the divergent segment", async () => {
    const m = referenceModel("text", { divergence: { field: "tier", value: "free" } });
    const a = (await run(m, { prompt: "hello there" })).text as string;
    expect(a.split(" ").length).toBeGreaterThanOrEqual(3);
    expect(a.split(" ").length).toBeLessThanOrEqual(8);
    expect((await run(m, "hello there")).text).toBe(a);
    expect((await run(m, { prompt: "hello there", tier: "free" })).text).not.toBe(a);
  });

  it("refuse input they cannot read, naming it", async () => {
    await expect(run(referenceModel("classifier"), new Float32Array(3))).rejects.toThrow(
      /input: must hold 8 features \(got 3\)/,
    );
    await expect(run(referenceModel("text"), 42)).rejects.toThrow(
      /input: must be a string or an object with a text or prompt field/,
    );
    expect(() => referenceModel("nope" as never)).toThrow(
      /reference: must be one of classifier, embedding, text/,
    );
  });
});

describe("misbehaving models", () => {
  it("hang until aborted, throw, answer garbage, or answer later with the same answer", async () => {
    const controller = new AbortController();
    const hanging = Promise.resolve(
      hangingModel().predict(1, testContext({ signal: controller.signal })),
    );
    controller.abort();
    await expect(hanging).rejects.toMatchObject({ code: "cancelled" });
    expect(() => throwingModel("boom").predict(1, testContext())).toThrow("boom");
    const garbage = garbageModel();
    expect(garbage.predict(1, testContext())).not.toEqual(garbage.predict(1, testContext()));
    const slow = slowModel(referenceModel("classifier"), 50);
    expect(await run(slow, new Float32Array(8))).toEqual(
      await run(referenceModel("classifier"), new Float32Array(8)),
    );
  });
});
