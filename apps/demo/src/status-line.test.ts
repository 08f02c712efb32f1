import { describe, expect, it } from "vitest";
import {
  answersInWords,
  formatCount,
  formatElapsed,
  promotionStep,
  ruleInWords,
  standingInWords,
} from "./status-line.ts";

describe("status words", () => {
  it("says a decision rule in a few words", () => {
    expect(ruleInWords("criterion.latency_p99")).toBe("p99 latency");
    expect(ruleInWords("criterion.divergence[device=mobile]")).toBe("divergence on device=mobile");
    expect(ruleInWords("criterion.error_rate[overall]")).toBe("error rate");
    expect(ruleInWords("requirement.segment_samples[device=tablet]")).toBe(
      "waiting for segment samples on device=tablet",
    );
    expect(ruleInWords("live_changed")).toBe("live_changed");
    expect(ruleInWords(undefined)).toBe("");
  });

  it("says where a candidate stands, with the reason for an end", () => {
    const base = { variant: "B", reason: undefined, latest: undefined };
    expect(standingInWords({ ...base, stage: "live-25", rule: "stage.complete" })).toBe("live-25");
    expect(standingInWords({ ...base, stage: "rejected", rule: "criterion.latency_p99" })).toBe(
      "rejected (p99 latency)",
    );
    expect(standingInWords({ ...base, stage: "rolled_back", rule: undefined })).toBe("rolled back");
  });

  it("shares out the answers by variant, production first", () => {
    expect(answersInWords({ A: 0.25, prod: 0.75 })).toBe("prod 75% · A 25%");
    expect(answersInWords({ prod: 0.995, A: 0.005 })).toBe("prod 100% · A 0.5%");
    expect(answersInWords({ A: 1, prod: 0 })).toBe("A 100%");
    expect(answersInWords({})).toBe("none yet");
  });

  it("places a stage on the promotion path", () => {
    expect(promotionStep("shadow")).toBe(0);
    expect(promotionStep("live-25")).toBe(3);
    expect(promotionStep("done")).toBe(7);
    expect(promotionStep("rejected")).toBe(0);
  });

  it("formats elapsed time and counts", () => {
    expect(formatElapsed(72_400)).toBe("1:12");
    expect(formatCount(1_234_567)).toBe("1 234 567");
    expect(formatCount(12)).toBe("12");
  });
});
