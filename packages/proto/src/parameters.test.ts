import { describe, expect, it } from "vitest";
import { loadProtos } from "./load-protos.ts";
import { countParameter, parametersFromWire, parametersToWire } from "./parameters.ts";

describe("parameters", () => {
  it("round-trips strings, booleans, safe integers and int64 beyond 2^53 without rounding", () => {
    const { ModelInfer } = loadProtos().inference;
    const values = { s: "eu", b: true, f: false, n: -42, big: 2n ** 62n };
    const wire = ModelInfer.requestDeserialize(
      ModelInfer.requestSerialize({
        model_name: "m",
        inputs: [],
        parameters: parametersToWire(values),
      }),
    );
    expect(parametersFromWire(wire.parameters)).toEqual(values);
  });

  it("refuses doubles, which are not portable across OIP servers, naming the key", () => {
    expect(() => parametersToWire({ temperature: 0.7 })).toThrow(
      /parameters\.temperature: must be a string, a boolean or a safe integer; doubles are not portable/,
    );
    expect(() => parametersToWire({ huge: 2n ** 64n })).toThrow(
      /parameters\.huge: must fit in int64/,
    );
  });

  it("reads a count, and nothing from a value that is not a non-negative integer", () => {
    expect(countParameter({ a: 3 }, "a")).toBe(3);
    expect(countParameter({ a: "3" }, "a")).toBeUndefined();
    expect(countParameter({ a: -1 }, "a")).toBeUndefined();
    expect(countParameter({}, "a")).toBeUndefined();
  });
});
