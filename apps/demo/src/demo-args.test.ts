import { describe, expect, it } from "vitest";
import { parseDemoArgs } from "./demo-args.ts";

describe("parseDemoArgs", () => {
  it("defaults to the interactive demo at 150 requests a second with four minutes for the outcomes", () => {
    expect(parseDemoArgs([])).toEqual({
      ci: false,
      ratePerSecond: 150,
      deadlineMs: 240_000,
      seed: 1,
      help: false,
    });
  });

  it("reads --ci, --rate, --deadline-seconds and --seed", () => {
    expect(
      parseDemoArgs(["--ci", "--rate", "150", "--deadline-seconds", "200", "--seed", "9"]),
    ).toEqual({ ci: true, ratePerSecond: 150, deadlineMs: 200_000, seed: 9, help: false });
  });

  it("refuses an unknown flag, naming it", () => {
    expect(() => parseDemoArgs(["--fast"])).toThrow(/--fast/);
  });

  it("refuses a rate out of range, naming the flag and the rule", () => {
    expect(() => parseDemoArgs(["--rate", "5"])).toThrow(
      '--rate: must be an integer from 10 to 1000 (got "5")',
    );
    expect(() => parseDemoArgs(["--rate", "fast"])).toThrow(/--rate/);
  });
});
