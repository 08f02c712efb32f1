import {
  type ExperimentSpec,
  type PairRecord,
  parseExperimentSpec,
  specHash,
} from "@umbra/protocol";
import { generatePairRecords } from "@umbra/testing";
import { describe, expect, it } from "vitest";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import { ExperimentState, type ExperimentStateContext } from "./experiment-state.ts";

const spec: ExperimentSpec = parseExperimentSpec({
  schema: 1,
  experiment: "ranker",
  live: "prod",
  variants: {
    prod: { target: { kind: "local" } },
    A: { target: { kind: "local" } },
    B: { target: { kind: "local" } },
    C: { target: { kind: "local" } },
  },
  outputs: { label: { kind: "label" } },
  segments: [],
  criteria: { minSamples: 1, minDurationMs: 0 },
});

function context(current: { spec: RegisteredSpec | undefined }): ExperimentStateContext {
  return {
    experiment: "ranker",
    spec: () => current.spec,
    dedupeIds: 100,
    pendingLabels: 100,
    onDrop: () => undefined,
  };
}

const pairs: PairRecord[] = [...generatePairRecords({ seed: 8, count: 30 })];

describe("ExperimentState", () => {
  it("starts a new version when the spec changes and keeps the old one's count apart", () => {
    const current: { spec: RegisteredSpec | undefined } = { spec: undefined };
    const state = ExperimentState.create(context(current));
    for (const p of pairs.slice(0, 10)) state.applyPair(p, p.variant);
    expect(state.specHash).toBeNull();
    expect(state.comparatorNote).toContain("no spec registered");
    current.spec = { spec, hash: specHash(spec) };
    for (const p of pairs.slice(10)) state.applyPair(p, p.variant);
    expect(state.specHash).toBe(specHash(spec));
    expect(state.counts.pairs).toBe(20);
    expect(state.previousVersions).toEqual([{ specHash: null, pairs: 10 }]);
  });

  it("skips a pair whose message id it has seen and counts the duplicate", () => {
    const state = ExperimentState.create(context({ spec: undefined }));
    const p = pairs[0] as PairRecord;
    expect(state.applyPair(p, p.variant)).toBe(true);
    expect(state.applyPair(p, p.variant)).toBe(false);
    expect(state.counts.duplicates.pairs).toBe(1);
    expect(state.counts.pairs).toBe(1);
  });

  it("refuses a pair whose variant contradicts its subject", () => {
    const state = ExperimentState.create(context({ spec: undefined }));
    const p = pairs[0] as PairRecord;
    expect(() => state.applyPair(p, "Z")).toThrow(/\/variant: must match the subject's variant Z/);
  });

  it("round-trips through its checkpoint JSON and goes on identically", () => {
    const current = { spec: { spec, hash: specHash(spec) } };
    const a = ExperimentState.create(context(current));
    for (const p of pairs.slice(0, 15)) a.applyPair(p, p.variant);
    const b = ExperimentState.fromJSON(a.toJSON(), context(current));
    for (const s of [a, b]) for (const p of pairs.slice(15)) s.applyPair(p, p.variant);
    expect(b.toJSON()).toBe(a.toJSON());
  });
});
