import { buildReport, createAggregate, createOutputComparator } from "@umbra/compare";
import { generatePairRecords } from "@umbra/testing";
import { describe, expect, it } from "vitest";
import { type CollectorReport, renderReportTable } from "./report-table.ts";

function report(count: number): CollectorReport {
  const aggregate = createAggregate({ experiment: "ranker" });
  const comparator = createOutputComparator({ outputs: { label: { kind: "label" } } });
  for (const pair of generatePairRecords({ seed: 2, count })) {
    aggregate.addPair(pair, comparator.comparePair(pair));
  }
  return {
    experiment: "ranker",
    source: "memory",
    owner: "collector-0",
    spec: {
      hash: null,
      note: "no spec registered: whole outputs compared with structured equality",
    },
    counts: { pairs: count },
    comparison: buildReport(aggregate),
  };
}

describe("renderReportTable", () => {
  it("puts one column per variant and one row per measure", () => {
    const r = report(600);
    const lines = renderReportTable(r).split("\n");
    expect(lines[1]).toMatch(/^\s+A\s+B\s+C$/);
    const pairs = lines
      .find((l) => l.startsWith("pairs"))
      ?.split(/\s+/)
      .slice(1)
      .map(Number);
    expect(pairs).toEqual(r.comparison.variants.map((v) => v.pairs));
    const a = r.comparison.variants[0];
    expect(lines.find((l) => l.startsWith("divergence "))).toContain(
      `${((a?.divergence.rate ?? 0) * 100).toFixed(2)}%`,
    );
  });

  it("says so when there are no pairs yet, with the comparator note", () => {
    const text = renderReportTable(report(0));
    expect(text).toContain("no pairs yet");
    expect(text).toContain("structured equality");
  });
});
