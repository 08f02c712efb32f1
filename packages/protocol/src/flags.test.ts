import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  assertValidFlagFile,
  buildExperimentFlag,
  buildFlagFile,
  createFlagEvaluator,
  type ExperimentFlagOptions,
  planFromEvaluation,
  readExperimentFlag,
  validateFlagFile,
} from "./flags.ts";

const base: ExperimentFlagOptions = {
  experiment: "ranker",
  live: "prod",
  revision: 1,
  candidates: [
    { variant: "A", sampleBasisPoints: 10_000 },
    { variant: "B", sampleBasisPoints: 2_500 },
    { variant: "C", sampleBasisPoints: 1_000 },
  ],
};
const fileOf = (o: ExperimentFlagOptions) =>
  buildFlagFile({ [`umbra.${o.experiment}`]: buildExperimentFlag(o) });
const clone = <T>(v: T): T => structuredClone(v);
const ranker = (f: { flags: Record<string, unknown> }) => {
  const flag = f.flags["umbra.ranker"];
  if (flag === undefined) throw new Error("no umbra.ranker flag");
  return flag as {
    targeting: { if: [unknown, { cat: unknown[] }, null] };
    metadata: Record<string, unknown>;
  };
};

describe("experiment flag", () => {
  it("builds a flag flagd accepts, with one variant per live choice and mirror set", () => {
    const file = fileOf(base);
    expect(validateFlagFile(file)).toEqual([]);
    expect(Object.keys(file.flags["umbra.ranker"]?.variants ?? {})).toHaveLength(8);
  });

  it("mirrors each candidate at its sample rate, independently, and never the live variant", () => {
    const evaluate = createFlagEvaluator(fileOf(base));
    const counts = { A: 0, B: 0, C: 0, BC: 0 };
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const plan = evaluate("ranker", `req-${i}`);
      expect(plan.live).toBe("prod");
      expect(plan.mirror).not.toContain("prod");
      for (const v of plan.mirror) counts[v as "A" | "B" | "C"]++;
      if (plan.mirror.includes("B") && plan.mirror.includes("C")) counts.BC++;
    }
    expect(counts.A).toBe(n);
    // Binomial bounds at ~5 standard deviations: a wrong weight or a shared hash fails these.
    expect(Math.abs(counts.B - 0.25 * n)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
    expect(Math.abs(counts.C - 0.1 * n)).toBeLessThan(5 * Math.sqrt(n * 0.1 * 0.9));
    expect(Math.abs(counts.BC - 0.025 * n)).toBeLessThan(5 * Math.sqrt(n * 0.025 * 0.975));
  });

  it("gives a request without a targeting key the default: live only, nothing mirrored", () => {
    const plan = createFlagEvaluator(fileOf(base))("ranker", undefined);
    expect(plan).toMatchObject({ live: "prod", mirror: [], reason: "DEFAULT" });
  });

  it("routes the rollout share of requests to the rollout variant in live stages", () => {
    const evaluate = createFlagEvaluator(
      fileOf({ ...base, stage: "live-25", rollout: { variant: "A", basisPoints: 2_500 } }),
    );
    let live = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const plan = evaluate("ranker", `r-${i}`);
      if (plan.live === "A") {
        live++;
        expect(plan.mirror).not.toContain("A");
      }
    }
    expect(Math.abs(live - 0.25 * n)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
  });

  it("keeps every already-mirrored request mirrored when a candidate's sample is raised", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.stringMatching(/^[!-~]{1,36}$/), { minLength: 50, maxLength: 50 }),
        (x, y, keys) => {
          const [lo, hi] = x <= y ? [x, y] : [y, x];
          const at = (bp: number) =>
            createFlagEvaluator(
              fileOf({
                ...base,
                candidates: [
                  { variant: "B", sampleBasisPoints: bp },
                  { variant: "C", sampleBasisPoints: 5_000 },
                ],
              }),
            );
          const before = at(lo);
          const after = at(hi);
          for (const k of keys) {
            const b = before("ranker", k);
            const a = after("ranker", k);
            if (b.mirror.includes("B")) expect(a.mirror).toContain("B");
            // C's assignment is independent of B's ramp.
            expect(a.mirror.includes("C")).toBe(b.mirror.includes("C"));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("keeps every request already on the rollout variant there when the rollout grows", () => {
    const keys = Array.from({ length: 3_000 }, (_, i) => `k${i}`);
    const stages = [100, 500, 2_500, 5_000, 10_000].map((bp) =>
      createFlagEvaluator(fileOf({ ...base, rollout: { variant: "A", basisPoints: bp } })),
    );
    for (let s = 1; s < stages.length; s++) {
      for (const k of keys) {
        if (stages[s - 1]?.("ranker", k).live === "A")
          expect(stages[s]?.("ranker", k).live).toBe("A");
      }
    }
  });

  it("reads back the options a flag was built from", () => {
    const options = {
      ...base,
      stage: "live-5",
      rollout: { variant: "A", basisPoints: 500 },
      specHash: "a".repeat(64),
    };
    expect(readExperimentFlag("umbra.ranker", buildExperimentFlag(options))).toEqual({
      ...options,
      enabled: true,
    });
  });

  it("writes state DISABLED as the kill switch, which evaluates to the code default", () => {
    const file = fileOf({ ...base, enabled: false });
    expect(validateFlagFile(file)).toEqual([]);
    const plan = createFlagEvaluator(file)("ranker", "req-1");
    expect(plan.reason).toBe("DISABLED");
    expect(plan.mirror).toEqual([]);
  });

  it("rejects bad options naming the field", () => {
    expect(() =>
      buildExperimentFlag({ ...base, candidates: [{ variant: "B", sampleBasisPoints: 0.25 }] }),
    ).toThrowError(/candidates\[0\]\.sampleBasisPoints: must be an integer/);
    expect(() =>
      buildExperimentFlag({ ...base, candidates: [{ variant: "prod", sampleBasisPoints: 100 }] }),
    ).toThrowError(/candidates\[0\]\.variant: must differ from the live variant/);
    expect(() => buildExperimentFlag({ ...base, experiment: "a.b" })).toThrowError(/^experiment: /);
  });
});

describe("flag file validation", () => {
  const good = fileOf(base);

  it.each([
    [
      "a state flagd does not know",
      (f: ReturnType<typeof clone<typeof good>>) => {
        (f.flags["umbra.ranker"] as { state: string }).state = "ON";
      },
      "/flags/umbra.ranker/state",
      /ENABLED/,
    ],
    [
      "a default variant that is not a variant",
      (f: typeof good) => {
        (f.flags["umbra.ranker"] as { defaultVariant: string }).defaultVariant = "nope";
      },
      "/flags/umbra.ranker/defaultVariant",
      /must name one of the variants/,
    ],
    [
      "variants of mixed types",
      (f: typeof good) => {
        (f.flags["umbra.ranker"] as { variants: Record<string, unknown> }).variants.x = true;
      },
      "/flags/umbra.ranker/variants",
      /same type/,
    ],
    [
      "targeting that names a missing variant",
      (f: typeof good) => {
        ranker(f).targeting.if[1].cat[0] = "zzz";
      },
      "/flags/umbra.ranker/targeting",
      /evaluation fails/,
    ],
    [
      "metadata that disagrees with targeting",
      (f: typeof good) => {
        (f.flags["umbra.ranker"]?.metadata as Record<string, number>)["sample.B"] = 5_000;
      },
      "/flags/umbra.ranker/targeting",
      /does not match the flag's metadata/,
    ],
    [
      "metadata missing a sample",
      (f: typeof good) => {
        delete ranker(f).metadata["sample.C"];
      },
      "/flags/umbra.ranker/metadata/sample.C",
      /must be a number/,
    ],
    [
      "a non-scalar metadata value (flagd schema)",
      (f: typeof good) => {
        (f.flags["umbra.ranker"]?.metadata as Record<string, unknown>).owner = { team: "x" };
      },
      "/flags/umbra.ranker/metadata/owner",
      /flagd schema/,
    ],
  ])("rejects %s, naming the flag and the path", (_what, mutate, path, rule) => {
    const f = clone(good);
    mutate(f);
    const problems = validateFlagFile(f);
    const p = problems.find((x) => x.path === path);
    expect(p, JSON.stringify(problems)).toBeDefined();
    expect(p?.flag).toBe("umbra.ranker");
    expect(p?.rule).toMatch(rule);
  });

  it("rejects the array form of flags, which only the flagd daemon reads", () => {
    expect(validateFlagFile({ flags: [] })).toEqual([
      { flag: undefined, path: "/flags", rule: expect.stringContaining("map form") },
    ]);
  });

  it("accepts other teams' flags beside experiment flags", () => {
    const f = clone(good) as { flags: Record<string, unknown> };
    f.flags["checkout-redesign"] = {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
    };
    expect(validateFlagFile(f)).toEqual([]);
  });

  it("throws one error listing every problem from assertValidFlagFile", () => {
    const f = clone(good);
    (f.flags["umbra.ranker"] as { state: string }).state = "ON";
    expect(() => assertValidFlagFile(f)).toThrowError(
      /flag "umbra.ranker" \/flags\/umbra.ranker\/state/,
    );
  });
});

describe("planFromEvaluation", () => {
  it("falls back to the declared live variant, mirroring nothing, when the value is not a plan", () => {
    expect(planFromEvaluation({ value: {}, reason: "DEFAULT" }, "prod")).toMatchObject({
      live: "prod",
      mirror: [],
    });
    expect(
      planFromEvaluation(
        { value: { live: "A", mirror: ["A"] }, reason: "TARGETING_MATCH" },
        "prod",
      ),
    ).toMatchObject({ live: "prod", mirror: [] });
    expect(
      planFromEvaluation({ value: { live: "A", mirror: ["B"] }, reason: "ERROR" }, "prod"),
    ).toMatchObject({ live: "prod", mirror: [] });
  });

  it("carries the flag variant, reason, revision and samples of a real evaluation", () => {
    const plan = createFlagEvaluator(fileOf({ ...base, revision: 12 }))("ranker", "req-9");
    expect(plan.revision).toBe(12);
    expect(plan.reason).toBe("TARGETING_MATCH");
    expect(plan.flagVariant).toBe(["prod", ...plan.mirror].join("+"));
    expect(plan.sampleBasisPoints).toEqual({ A: 10_000, B: 2_500, C: 1_000 });
  });
});
