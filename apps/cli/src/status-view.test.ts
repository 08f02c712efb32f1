import { describe, expect, it } from "vitest";
import { type CollectorStatus, renderStatus } from "./status-view.ts";

const T = Date.UTC(2026, 2, 1, 10, 0, 0);

const status: CollectorStatus = {
  experiment: "ranker",
  promotion: "on",
  summary: "prod is live; A answers 25% of requests (live-25); mirrored: A 100%, B 10%.",
  specHash: "6d6ca3510b83aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00",
  registeredSpecHash: null,
  source: "memory",
  owner: "collector-0",
  control: { mode: "collector", reason: "the collector writes the flag", sinceMs: T },
  stage: "live-25",
  live: "prod",
  flag: { key: "umbra.ranker", revision: 7, problem: null },
  candidates: [
    {
      variant: "A",
      phase: "live",
      stage: "live-25",
      sinceMs: T,
      heldFrom: null,
      decision: "wait",
      reason: "A: live-25 held 2 s of 15 min; healthy, no harm so far.",
    },
    {
      variant: "B",
      phase: "rejected",
      stage: "rejected",
      sinceMs: T - 60_000,
      heldFrom: null,
      decision: "reject",
      reason: "B rejected in shadow: share of latencies above 100 ms … — fail.",
    },
  ],
  decisions: { lastSeq: 42, unpublished: 0 },
  lastError: null,
};

describe("renderStatus", () => {
  it("prints who controls the flag, the summary, and each candidate with its reason in words", () => {
    const text = renderStatus(status);
    expect(text.split("\n")[0]).toBe(
      "experiment ranker · spec 6d6ca3510b83 · control: collector · flag umbra.ranker revision 7 · from memory of collector-0",
    );
    expect(text).toContain(status.summary);
    expect(text).toContain("A  live-25   since 2026-03-01 10:00:00Z  wait");
    expect(text).toContain("   A: live-25 held 2 s of 15 min; healthy, no harm so far.");
    expect(text).toContain("B  rejected  since 2026-03-01 09:59:00Z  reject");
    expect(text).toContain("decision log: 42 records (umbra explain ranker)");
  });

  it("says since when a human holds the flag, and why the promotion is off", () => {
    const manual = renderStatus({
      ...status,
      summary: "Human edit detected: umbra.ranker was edited by hand at revision 8 (…).",
      control: { mode: "manual", reason: "…", sinceMs: T },
    });
    expect(manual).toContain("control: manual");
    expect(manual).toContain("since 2026-03-01 10:00:00Z");
    const off = renderStatus({
      ...status,
      promotion: "off",
      summary: "Promotion is off: ranker has no registered spec.",
      specHash: null,
      control: null,
      flag: { key: "umbra.ranker", revision: null, problem: null },
      candidates: [],
    });
    expect(off).toContain("Promotion is off");
    expect(off).not.toContain("decision log");
  });
});
