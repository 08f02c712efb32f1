import type { LabelRecord, PairRecord } from "@umbra/protocol";
import { generatePairRecords } from "@umbra/testing";
import { describe, expect, it } from "vitest";
import { LabelJoin } from "./label-join.ts";

const DAY_MS = 86_400_000;
const pairs = [...generatePairRecords({ seed: 9, count: 30, failureRate: 0 })];

function labelFor(pair: PairRecord, delayMs: number, label = "news"): LabelRecord {
  return {
    schema: 1,
    kind: "label",
    experiment: pair.experiment,
    requestId: pair.requestId,
    label,
    observedAtMs: pair.requestTimestampMs + delayMs,
  };
}

describe("LabelJoin", () => {
  it("scores the same whether the label or the pair arrives first", () => {
    // Capacity 200 keeps up to 50 labels: room for all 30 of them.
    const pairFirst = new LabelJoin(200, undefined, undefined);
    const labelFirst = new LabelJoin(200, undefined, undefined);
    for (const p of pairs) pairFirst.addPair(p);
    for (const p of pairs) pairFirst.addLabel(labelFor(p, 60_000));
    for (const p of pairs) labelFirst.addLabel(labelFor(p, 60_000));
    for (const p of pairs) labelFirst.addPair(p);
    expect(labelFirst.report().variants).toEqual(pairFirst.report().variants);
    expect(pairFirst.counts.joined).toBe(pairs.length);
  });

  it("counts a label past the last horizon as late and does not score it", () => {
    const join = new LabelJoin(100, undefined, undefined);
    const p = pairs[0] as PairRecord;
    join.addPair(p);
    join.addLabel(labelFor(p, 8 * DAY_MS));
    expect(join.counts.late).toBe(1);
    expect(join.counts.joined).toBe(0);
  });

  it("refuses a second label for the same request as a duplicate", () => {
    const join = new LabelJoin(100, undefined, undefined);
    const p = pairs[0] as PairRecord;
    expect(join.addLabel(labelFor(p, 1)).applied).toBe(true);
    expect(join.addLabel(labelFor(p, 2)).applied).toBe(false);
  });

  it("evicts the oldest waiting pairs beyond its capacity and counts them", () => {
    const join = new LabelJoin(10, undefined, undefined);
    let dropped = 0;
    for (const p of pairs) dropped += join.addPair(p);
    expect(dropped).toBe(pairs.length - 10);
    expect(join.counts.droppedPairs).toBe(pairs.length - 10);
    expect(join.report().pendingPairs).toBe(10);
  });

  it("restores from its JSON and goes on scoring as before", () => {
    const join = new LabelJoin(100, undefined, undefined);
    for (const p of pairs.slice(0, 15)) join.addPair(p);
    const restored = new LabelJoin(100, undefined, JSON.parse(JSON.stringify(join.toJSON())));
    for (const j of [join, restored]) for (const p of pairs) j.addLabel(labelFor(p, 1_000));
    expect(restored.report()).toEqual(join.report());
  });
});
