import { describe, expect, it } from "vitest";
import { candidate, evidence } from "./decision-fixtures.ts";
import { checkExperimentEvidence } from "./evidence.ts";

const hash = "a".repeat(64);

describe("checkExperimentEvidence", () => {
  it("accepts well-formed evidence as it is", () => {
    const e = evidence(hash, { A: candidate({ compared: 100 }) });
    expect(checkExperimentEvidence(e)).toBe(e);
  });

  it("names the JSON pointer and the rule of the first problem", () => {
    const c = candidate({ compared: 100 });
    const cases: [unknown, string][] = [
      [
        { ...evidence(hash, {}), specHash: "xyz" },
        "/specHash: must be 64 lowercase hex characters",
      ],
      [{ ...evidence(hash, {}), collectorLagMs: -1 }, "/collectorLagMs: must be >= 0"],
      [
        evidence(hash, { A: { ...c, plannedMirrors: 1.5 } }),
        "/candidates/A/plannedMirrors: must be an integer >= 0",
      ],
      [
        evidence(hash, {
          A: {
            ...c,
            overall: { ...c.overall, latency: { samples: 1, aboveLimit: 2, p99Ms: null } },
          },
        }),
        "/candidates/A/overall/latency/aboveLimit: must be <= samples",
      ],
      [
        evidence(hash, {
          A: { ...c, overall: { ...c.overall, quality: { pairs: 10, sum: 11, sumOfSquares: 10 } } },
        }),
        "/candidates/A/overall/quality/sum: must be within ±pairs (differences lie in [-1, 1])",
      ],
      [
        evidence(hash, {
          A: { ...c, segments: { device: { mobile: { ...c.overall, compared: 1e9 } } } },
        }),
        "/candidates/A/segments/device/mobile/compared: must be <= outcomes/ok",
      ],
      [
        evidence(hash, { A: { ...c, split: { candidateRequests: 3, totalRequests: 2 } } }),
        "/candidates/A/split/candidateRequests: must be <= totalRequests",
      ],
    ];
    for (const [value, message] of cases) {
      expect(() => checkExperimentEvidence(value)).toThrow(message);
    }
  });
});
