import { describe, expect, it } from "vitest";
import { createTrafficSource, type TrafficRequest } from "./traffic-source.ts";

const ASCII_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("createTrafficSource", () => {
  it("yields the same requests for the same seed and options", () => {
    const a = createTrafficSource({ seed: 11 }).take(200);
    const b = createTrafficSource({ seed: 11 }).take(200);
    expect(a).toEqual(b);
    expect(createTrafficSource({ seed: 12 }).take(200)).not.toEqual(a);
  });

  it("gives every request a unique UUID-shaped ASCII id and non-decreasing timestamps", () => {
    const requests = createTrafficSource({
      seed: "ids",
      startMs: 5_000,
      ratePerSecond: 1_000,
    }).take(2_000);
    expect(new Set(requests.map((r) => r.requestId)).size).toBe(2_000);
    for (const r of requests) expect(r.requestId).toMatch(ASCII_UUID);
    expect(requests[0]?.timestampMs).toBe(5_000);
    for (let i = 1; i < requests.length; i++) {
      expect((requests[i] as TrafficRequest).timestampMs).toBeGreaterThanOrEqual(
        (requests[i - 1] as TrafficRequest).timestampMs,
      );
    }
    const spanMs = (requests.at(-1) as TrafficRequest).timestampMs - 5_000;
    // 1 999 gaps of mean 1 ms: the span is about 2 s.
    expect(spanMs).toBeGreaterThan(1_500);
    expect(spanMs).toBeLessThan(2_500);
  });

  it("keeps request ids unchanged when the mixes or the input shape change", () => {
    const plain = createTrafficSource({ seed: 5 }).take(50);
    const mixed = createTrafficSource({
      seed: 5,
      input: "fields",
      segments: [
        { name: "a", weight: 1 },
        { name: "b", weight: 9 },
      ],
      devices: { tablet: 1 },
    }).take(50);
    expect(mixed.map((r) => r.requestId)).toEqual(plain.map((r) => r.requestId));
  });

  it("follows the configured segment, device and region mixes", () => {
    const requests = createTrafficSource({
      seed: 21,
      segments: [
        { name: "mobile-eu", weight: 1, devices: { mobile: 1 }, regions: { "eu-west": 1 } },
        { name: "desktop-any", weight: 3, devices: { desktop: 1 } },
      ],
      regions: { "us-east": 1, "ap-south": 1 },
    }).take(4_000);
    const eu = requests.filter((r) => r.segment === "mobile-eu");
    const desktop = requests.filter((r) => r.segment === "desktop-any");
    expect(eu.length + desktop.length).toBe(4_000);
    expect(eu.length / 4_000).toBeCloseTo(0.25, 1);
    expect(eu.every((r) => r.context.device === "mobile" && r.context.region === "eu-west")).toBe(
      true,
    );
    expect(desktop.every((r) => r.context.device === "desktop")).toBe(true);
    expect(new Set(desktop.map((r) => r.context.region))).toEqual(new Set(["us-east", "ap-south"]));
  });

  it("draws users from the configured pool", () => {
    const requests = createTrafficSource({ seed: 2, userCount: 25 }).take(1_000);
    const users = new Set(requests.map((r) => r.context.userId));
    expect(users.size).toBe(25);
    for (const u of users) expect(u).toMatch(/^user-\d{2}$/);
  });

  it("fills features, fields or both, as asked", () => {
    const [both] = createTrafficSource({ seed: 1, featureCount: 4 }).take(1);
    expect(both?.input.features).toHaveLength(4);
    expect(both?.input.fields).toMatchObject({
      category: expect.any(String),
      priceCents: expect.any(Number),
    });
    const [features] = createTrafficSource({ seed: 1, input: "features" }).take(1);
    expect(features?.input.fields).toBeUndefined();
    const [fields] = createTrafficSource({ seed: 1, input: "fields" }).take(1);
    expect(fields?.input.features).toBeUndefined();
    expect(JSON.parse(JSON.stringify(fields))).toEqual(fields);
  });

  it("shifts a segment's features when it declares its own mean", () => {
    const requests = createTrafficSource({
      seed: 8,
      input: "features",
      segments: [
        { name: "base", weight: 1 },
        { name: "shifted", weight: 1, featureMean: 5 },
      ],
    }).take(2_000);
    const mean = (segment: string) => {
      const xs = requests
        .filter((r) => r.segment === segment)
        .flatMap((r) => r.input.features ?? []);
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    expect(mean("base")).toBeCloseTo(0, 0);
    expect(mean("shifted")).toBeCloseTo(5, 0);
  });

  it("iterates endlessly and counts what it produced", () => {
    const source = createTrafficSource({ seed: 4 });
    let n = 0;
    for (const _ of source) if (++n === 10) break;
    expect(source.produced).toBe(10);
    expect(source.next().sequence).toBe(10);
  });

  it("rejects bad options naming the field and the rule", () => {
    expect(() => createTrafficSource({ seed: 1, segments: [] })).toThrow(
      /segments: must be a non-empty array/,
    );
    expect(() =>
      createTrafficSource({ seed: 1, segments: [{ name: "bad name", weight: 1 }] }),
    ).toThrow(/segments\[0\]\.name/);
    expect(() =>
      createTrafficSource({
        seed: 1,
        segments: [
          { name: "a", weight: 1 },
          { name: "a", weight: 1 },
        ],
      }),
    ).toThrow(/segments\[1\]\.name: must be unique/);
    expect(() => createTrafficSource({ seed: 1, devices: { phone: 1 } as never })).toThrow(
      /devices\.phone/,
    );
    expect(() => createTrafficSource({ seed: 1, regions: { eu: -1 } })).toThrow(/regions\.eu/);
    expect(() => createTrafficSource({ seed: 1, userCount: 0 })).toThrow(/userCount/);
    expect(() => createTrafficSource({ seed: 1, ratePerSecond: 0 })).toThrow(/ratePerSecond/);
    expect(() => createTrafficSource({ seed: 1 }).take(-1)).toThrow(/count/);
  });
});
