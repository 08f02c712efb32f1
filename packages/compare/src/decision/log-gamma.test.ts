import { UmbraError } from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { logBeta, logGamma } from "./log-gamma.ts";

describe("logGamma", () => {
  it("matches ln((n − 1)!) at the integers", () => {
    let factorial = 1;
    for (let n = 1; n <= 20; n++) {
      expect(logGamma(n)).toBeCloseTo(Math.log(factorial), 12);
      factorial *= n;
    }
  });

  it("matches ln √π at one half and the reflection formula below it", () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    // Γ(0.1) = 9.513507698668731…
    expect(logGamma(0.1)).toBeCloseTo(Math.log(9.513507698668732), 12);
  });

  it("agrees with Stirling's series for large arguments to a relative 1e-14", () => {
    for (const x of [1e3, 1e6, 1e9]) {
      const stirling =
        (x - 0.5) * Math.log(x) -
        x +
        0.5 * Math.log(2 * Math.PI) +
        1 / (12 * x) -
        1 / (360 * x ** 3);
      expect(Math.abs(logGamma(x) - stirling) / stirling).toBeLessThan(1e-14);
    }
  });

  it("refuses zero, negative and non-finite arguments", () => {
    expect(() => logGamma(0)).toThrow(UmbraError);
    expect(() => logGamma(-1)).toThrow(UmbraError);
    expect(() => logGamma(Number.POSITIVE_INFINITY)).toThrow(UmbraError);
  });
});

describe("logBeta", () => {
  it("gives ln B(a, b) for known values", () => {
    expect(logBeta(1, 1)).toBeCloseTo(0, 13);
    expect(logBeta(0.5, 0.5)).toBeCloseTo(Math.log(Math.PI), 13);
    // B(2, 3) = 1!·2!/4! = 1/12
    expect(logBeta(2, 3)).toBeCloseTo(Math.log(1 / 12), 13);
  });
});
