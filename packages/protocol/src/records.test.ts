import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodePair,
  decodeRecord,
  decodeValue,
  encodePair,
  encodeRecord,
  encodeValue,
} from "./codec.ts";
import { UmbraError } from "./errors.ts";
import { sampleDecision, sampleExposure, sampleLabel, samplePair } from "./internal/samples.ts";
import type { PairRecord } from "./records.ts";

describe("record codec", () => {
  it("round-trips every record kind unchanged", () => {
    expect(decodeRecord("pair", encodeRecord("pair", samplePair()))).toEqual(samplePair());
    expect(decodeRecord("exposure", encodeRecord("exposure", sampleExposure()))).toEqual(
      sampleExposure(),
    );
    expect(decodeRecord("label", encodeRecord("label", sampleLabel()))).toEqual(sampleLabel());
    expect(decodeRecord("decision", encodeRecord("decision", sampleDecision()))).toEqual(
      sampleDecision(),
    );
  });

  it("round-trips Float32Array embeddings bit for bit, including views at an offset", () => {
    const backing = new Float32Array([
      9,
      0.1,
      -3.5e-8,
      Number.MAX_VALUE > 0 ? 3.4e38 : 0,
      Number.NaN,
      -0,
      7,
    ]);
    const view = backing.subarray(1, 6);
    const pair = samplePair();
    pair.shadow.output = { embedding: view };
    const back = decodePair(encodePair(pair)).shadow.output as { embedding: Float32Array };
    expect(back.embedding).toBeInstanceOf(Float32Array);
    expect(new Uint8Array(back.embedding.buffer)).toEqual(
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
    );
  });

  it("never lets msgpackr see a Float32Array: random embeddings survive exactly", () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 256 }), (values) => {
        const back = decodeValue(encodeValue({ e: values })) as { e: Float32Array };
        expect(Array.from(new Uint8Array(back.e.buffer))).toEqual(
          Array.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
        );
      }),
    );
  });

  it("round-trips every typed array dtype", () => {
    const value = {
      f64: new Float64Array([Math.PI]),
      i8: new Int8Array([-1]),
      i16: new Int16Array([-300]),
      i32: new Int32Array([-70_000]),
      i64: new BigInt64Array([-(2n ** 60n)]),
      u16: new Uint16Array([65_535]),
      u32: new Uint32Array([4_000_000_000]),
      u64: new BigUint64Array([2n ** 63n]),
      bytes: new Uint8Array([1, 2, 3]),
    };
    const back = decodeValue(encodeValue(value)) as typeof value;
    expect(back.f64).toEqual(value.f64);
    expect(back.i64).toEqual(value.i64);
    expect(back.u64).toEqual(value.u64);
    expect(Array.from(back.bytes)).toEqual([1, 2, 3]);
  });

  it("round-trips arbitrary valid pair records", () => {
    const outcome = fc.constantFrom(
      "ok",
      "error",
      "timeout",
      "dropped",
      "rejected_by_breaker",
      "skipped_unhealthy",
    );
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
    const arb = fc.record({
      outcome,
      requestId: fc.stringMatching(/^[!-~]{1,40}$/),
      variant: token,
      latency: fc.double({ min: 0, max: 1e6, noNaN: true }),
      text: fc.string(),
    });
    fc.assert(
      fc.property(arb, ({ outcome, requestId, variant, latency, text }) => {
        const p: PairRecord = {
          ...samplePair(),
          requestId,
          variant: variant === "prod" ? "prodx" : variant,
        };
        p.shadow =
          outcome === "ok"
            ? { outcome, latencyMs: latency, output: { text } }
            : outcome === "error"
              ? { outcome, error: { code: "internal", message: text } }
              : outcome === "dropped"
                ? { outcome, dropReason: "queue_full" }
                : { outcome };
        expect(decodePair(encodePair(p))).toEqual(p);
      }),
      { numRuns: 300 },
    );
  });

  it("drops keys whose value is undefined instead of writing a msgpackr-only extension", () => {
    const p = samplePair();
    p.shadow = {
      outcome: "timeout",
      latencyMs: undefined,
      error: undefined,
    } as unknown as PairRecord["shadow"];
    const bytes = encodePair(p);
    expect(decodePair(bytes).shadow).toEqual({ outcome: "timeout" });
    expect(Buffer.from(bytes).includes(Buffer.from([0xd4, 0x00, 0x00]))).toBe(false);
  });

  it("refuses to encode an invalid record, naming the field", () => {
    const p = samplePair();
    p.production.latencyMs = Number.NaN;
    expect(() => encodePair(p)).toThrowError(/\/production\/latencyMs/);
  });

  it("rejects a pair whose shadow is the live variant", () => {
    const p = { ...samplePair(), variant: "prod" };
    const err = catchError(() => encodePair(p));
    expect(err.code).toBe("invalid_argument");
    expect(err.field).toBe("/variant");
  });

  it("reports a newer schema version as unsupported_version rather than invalid", () => {
    const bytes = encodeValue({ ...samplePair(), schema: 2 });
    const err = catchError(() => decodePair(bytes));
    expect(err.code).toBe("unsupported_version");
    expect(err.field).toBe("/schema");
  });

  it("names the decoded kind it expected when a record of another kind arrives", () => {
    const err = catchError(() => decodePair(encodeRecord("label", sampleLabel())));
    expect(err.field).toBe("/kind");
    expect(err.message).toContain('must be "pair"');
  });
});

function catchError(fn: () => unknown): UmbraError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UmbraError) return e;
    throw e;
  }
  throw new Error("expected an UmbraError");
}
