import { readdir, readFile, writeFile } from "node:fs/promises";
import {
  buildExperimentFlag,
  buildFlagFile,
  type FlagdFlag,
  type FlagFile,
  validateFlagFile,
} from "@umbra/protocol";
import { createFlagFileFixture } from "@umbra/testing";
import { describe, expect, it } from "vitest";
import {
  buildManagedFlag,
  FlagFileStore,
  type FlagRouting,
  markOf,
  routingKey,
} from "./flag-file-store.ts";

const HASH = "a".repeat(64);

const checkout: FlagdFlag = {
  state: "ENABLED",
  variants: { on: true, off: false },
  defaultVariant: "off",
  targeting: {
    fractional: [
      ["on", 25],
      ["off", 75],
    ],
  },
  metadata: { owner: "web" },
};

function rankerFlag(revision: number, extra: Record<string, string> = {}): FlagdFlag {
  const flag = buildExperimentFlag({
    experiment: "ranker",
    live: "prod",
    revision,
    specHash: HASH,
    candidates: [{ variant: "A", sampleBasisPoints: 10_000 }],
  });
  return { ...flag, metadata: { ...flag.metadata, ...extra } };
}

const live50: FlagRouting = {
  live: "prod",
  rollout: { variant: "A", basisPoints: 5_000 },
  candidates: [{ variant: "A", sampleBasisPoints: 10_000 }],
  stage: "live-50",
};

async function fixture(flags: Record<string, FlagdFlag>) {
  return createFlagFileFixture<FlagFile>(buildFlagFile(flags));
}

const build = (current: { revision: number; flag: FlagdFlag | undefined }) =>
  buildManagedFlag("ranker", live50, current.revision + 1, HASH, current.flag);

describe("FlagFileStore", () => {
  it("rewrites one experiment flag after a compare-and-swap, keeping the other flags and the flag's own annotations", async () => {
    await using file = await fixture({
      "checkout-redesign": checkout,
      "umbra.ranker": rankerFlag(4, { ticket: "ML-12" }),
    });
    const store = new FlagFileStore(file.path);
    const before = await store.read();
    if (!before.ok) throw new Error(before.problem);
    const result = await store.write({
      experiment: "ranker",
      expected: markOf(before.view("ranker")),
      build,
      fence: async () => true,
    });
    expect(result.result).toBe("ok");
    const after = (await file.read()) as FlagFile;
    expect(validateFlagFile(after)).toEqual([]);
    expect(after.flags["checkout-redesign"]).toEqual(checkout);
    expect(Object.keys(after.flags)).toEqual(["checkout-redesign", "umbra.ranker"]);
    expect(after.flags["umbra.ranker"]?.metadata).toMatchObject({
      revision: 5,
      stage: "live-50",
      rollout: "A",
      rolloutBasisPoints: 5_000,
      ticket: "ML-12",
    });
    const reread = await store.read();
    if (!reread.ok) throw new Error(reread.problem);
    const view = reread.view("ranker");
    expect(result.result === "ok" && result.mark).toEqual(markOf(view));
    expect(view.options && routingKey(view.options)).toBe(routingKey(live50));
  });

  it("refuses to write over a flag that changed since it was last seen, leaving the file as it is", async () => {
    await using file = await fixture({ "umbra.ranker": rankerFlag(4) });
    const store = new FlagFileStore(file.path);
    const seen = await store.read();
    if (!seen.ok) throw new Error(seen.problem);
    const mark = markOf(seen.view("ranker"));
    // A human edits the flag: same revision, different sample.
    await file.update((f) => {
      const edited = buildExperimentFlag({
        experiment: "ranker",
        live: "prod",
        revision: 4,
        specHash: HASH,
        candidates: [{ variant: "A", sampleBasisPoints: 2_500 }],
      });
      f.flags["umbra.ranker"] = edited;
    });
    const text = await readFile(file.path, "utf8");
    const result = await store.write({
      experiment: "ranker",
      expected: mark,
      build,
      fence: async () => true,
    });
    expect(result.result).toBe("conflict");
    expect(await readFile(file.path, "utf8")).toBe(text);
  });

  it("refuses a file flagd would not load, naming the broken flag, and writes nothing", async () => {
    const broken = { ...checkout, defaultVariant: "maybe" };
    await using file = await fixture({
      "checkout-redesign": broken,
      "umbra.ranker": rankerFlag(1),
    });
    const store = new FlagFileStore(file.path);
    const text = await readFile(file.path, "utf8");
    const result = await store.write({
      experiment: "ranker",
      expected: null,
      build,
      fence: async () => true,
    });
    expect(result.result).toBe("invalid");
    expect(result.result === "invalid" && result.problem).toContain("checkout-redesign");
    expect(await readFile(file.path, "utf8")).toBe(text);
  });

  it("writes nothing and leaves no temp file when the fence says the lease is gone", async () => {
    await using file = await fixture({ "umbra.ranker": rankerFlag(1) });
    const store = new FlagFileStore(file.path);
    const text = await readFile(file.path, "utf8");
    const result = await store.write({
      experiment: "ranker",
      expected: null,
      build,
      fence: async () => false,
    });
    expect(result.result).toBe("fenced");
    expect(await readFile(file.path, "utf8")).toBe(text);
    expect(await readdir(file.dir)).toEqual(["flags.flagd.json"]);
  });

  it("notices the flag changed while the new version was being prepared, and keeps the other writer's version", async () => {
    await using file = await fixture({ "umbra.ranker": rankerFlag(1) });
    const store = new FlagFileStore(file.path);
    const seen = await store.read();
    if (!seen.ok) throw new Error(seen.problem);
    const human = `${JSON.stringify(buildFlagFile({ "umbra.ranker": rankerFlag(7) }), null, 2)}\n`;
    const result = await store.write({
      experiment: "ranker",
      expected: markOf(seen.view("ranker")),
      build,
      fence: async () => {
        // Someone writes the flag between our read and our rename.
        await writeFile(file.path, human);
        return true;
      },
    });
    expect(result).toMatchObject({ result: "conflict", flagChanged: true });
    expect(await readFile(file.path, "utf8")).toBe(human);
    expect(await readdir(file.dir)).toEqual(["flags.flagd.json"]);
  });

  it("starts over when only another flag changed meanwhile, keeping that change", async () => {
    await using file = await fixture({
      "checkout-redesign": checkout,
      "umbra.ranker": rankerFlag(1),
    });
    const store = new FlagFileStore(file.path);
    const seen = await store.read();
    if (!seen.ok) throw new Error(seen.problem);
    let edits = 0;
    const result = await store.write({
      experiment: "ranker",
      expected: markOf(seen.view("ranker")),
      build,
      fence: async () => {
        if (edits++ === 0) {
          const other = { ...checkout, defaultVariant: "on" };
          await writeFile(
            file.path,
            JSON.stringify(
              buildFlagFile({ "checkout-redesign": other, "umbra.ranker": rankerFlag(1) }),
            ),
          );
        }
        return true;
      },
    });
    expect(result.result).toBe("ok");
    const after = (await file.read()) as FlagFile;
    expect(after.flags["checkout-redesign"]?.defaultVariant).toBe("on");
    expect(after.flags["umbra.ranker"]?.metadata?.revision).toBe(2);
  });

  it("reads an absent experiment flag as revision 0 and a DISABLED one as disabled", async () => {
    await using file = await fixture({
      "umbra.ranker": { ...rankerFlag(3), state: "DISABLED" },
    });
    const store = new FlagFileStore(file.path);
    const snapshot = await store.read();
    if (!snapshot.ok) throw new Error(snapshot.problem);
    expect(snapshot.view("other")).toMatchObject({ exists: false, revision: 0, sha256: null });
    expect(snapshot.view("ranker")).toMatchObject({ exists: true, revision: 3, disabled: true });
    await writeFile(file.path, "{ not json");
    const bad = await store.read();
    expect(bad.ok).toBe(false);
  });
});
