import { describe, expect, it } from "vitest";
import type { InferInputTensor } from "./messages.ts";
import {
  boolTensor,
  bytesTensor,
  decodeBytesElements,
  encodeBytesElements,
  fp32Tensor,
  int64Tensor,
  readBool,
  readFloat32,
  readInt64,
  readStrings,
  tensorsFromWire,
  typedTensor,
  validateTensor,
} from "./tensors.ts";

describe("tensors", () => {
  it("lays out BYTES elements as a 4-byte little-endian length followed by the bytes", () => {
    const data = encodeBytesElements(["hi", new Uint8Array([7])]);
    expect([...data]).toEqual([2, 0, 0, 0, 104, 105, 1, 0, 0, 0, 7]);
    expect(decodeBytesElements(data, 2).map((b) => [...b])).toEqual([[104, 105], [7]]);
  });

  it("rejects a BYTES length prefix that runs past the end, naming the element", () => {
    expect(() =>
      decodeBytesElements(new Uint8Array([9, 0, 0, 0, 1]), undefined, "inputs[0]"),
    ).toThrow(/inputs\[0\]: BYTES element 0: length prefix 9 runs 8 byte\(s\) past the end/);
    expect(() => decodeBytesElements(new Uint8Array([1, 0]), undefined, "x")).toThrow(
      /a 4-byte length prefix needs 2 more byte/,
    );
    expect(() => decodeBytesElements(encodeBytesElements(["a", "b"]), 3, "x")).toThrow(
      /holds 2 BYTES element\(s\) but its shape needs 3/,
    );
  });

  it("round-trips FP32, INT64, BOOL and BYTES tensors through their readers", () => {
    expect([...readFloat32(fp32Tensor("f", [1.5, -2], [1, 2]))]).toEqual([1.5, -2]);
    const big = 2n ** 62n + 1n;
    expect([...readInt64(int64Tensor("i", [big, -3, 0]))]).toEqual([big, -3n, 0n]);
    expect(readBool(boolTensor("b", [true, false, true]))).toEqual([true, false, true]);
    expect(readStrings(bytesTensor("s", ["ä", ""]))).toEqual(["ä", ""]);
    expect(typedTensor("u", new Uint16Array([1, 2])).datatype).toBe("UINT16");
  });

  it("copies the caller's values, so later writes to them change nothing", () => {
    const values = new Float32Array([1, 2]);
    const t = fp32Tensor("f", values);
    values[0] = 99;
    expect([...readFloat32(t)]).toEqual([1, 2]);
  });

  it("reads FP32 contents that start at an unaligned offset", () => {
    const backing = new Uint8Array(9);
    backing.set(new Uint8Array(new Float32Array([3.25, 4]).buffer), 1);
    const t = { name: "f", datatype: "FP32" as const, shape: [2], data: backing.subarray(1) };
    expect([...readFloat32(t)]).toEqual([3.25, 4]);
  });

  it("rejects raw contents whose size does not match shape × datatype size", () => {
    const t = {
      name: "features",
      datatype: "FP32" as const,
      shape: [1, 4],
      data: new Uint8Array(12),
    };
    expect(() => validateTensor(t, "inputs[0]")).toThrow(
      'inputs[0] "features": raw contents are 12 bytes, but shape [1,4] of FP32 (4 byte(s) each) needs 16',
    );
  });

  it("rejects unknown datatypes and negative or fractional dimensions", () => {
    expect(() =>
      validateTensor({ name: "x", datatype: "FP8" as never, shape: [1], data: new Uint8Array(1) }),
    ).toThrow(/datatype must be one of/);
    expect(() =>
      validateTensor({ name: "x", datatype: "UINT8", shape: [-1], data: new Uint8Array(0) }),
    ).toThrow(/shape\[0\] must be an integer >= 0/);
    expect(() =>
      validateTensor({ name: "x", datatype: "UINT8", shape: [1.5], data: new Uint8Array(0) }),
    ).toThrow(/shape\[0\] must be an integer >= 0/);
  });

  it("converts typed contents to the raw layout, so typed and raw requests read the same", () => {
    const wire: InferInputTensor[] = [
      { name: "f", datatype: "FP32", shape: ["2"], contents: { fp32_contents: [1, 2] } },
      {
        name: "i",
        datatype: "INT64",
        shape: ["1"],
        contents: { int64_contents: ["-9007199254740993"] },
      },
      { name: "b", datatype: "BOOL", shape: ["2"], contents: { bool_contents: [false, true] } },
      {
        name: "s",
        datatype: "BYTES",
        shape: ["1"],
        contents: { bytes_contents: [new Uint8Array([104])] },
      },
    ];
    const [f, i, b, s] = tensorsFromWire(wire, [], "inputs");
    expect([...readFloat32(f as never)]).toEqual([1, 2]);
    expect([...readInt64(i as never)]).toEqual([-9007199254740993n]);
    expect(readBool(b as never)).toEqual([false, true]);
    expect(readStrings(s as never)).toEqual(["h"]);
  });

  it("names the input when typed contents hold the wrong number of values", () => {
    const wire: InferInputTensor[] = [
      { name: "f", datatype: "FP32", shape: ["3"], contents: { fp32_contents: [1, 2] } },
    ];
    expect(() => tensorsFromWire(wire, [], "inputs")).toThrow(
      'inputs[0] "f": contents.fp32_contents holds 2 value(s) but the shape needs 3',
    );
  });

  it("rejects raw contents that do not pair one to one with the tensors", () => {
    const wire: InferInputTensor[] = [
      { name: "a", datatype: "UINT8", shape: ["1"] },
      { name: "b", datatype: "UINT8", shape: ["1"] },
    ];
    expect(() => tensorsFromWire(wire, [new Uint8Array(1)], "inputs")).toThrow(
      /raw_input_contents: holds 1 entries but there are 2 inputs/,
    );
  });

  it("rejects typed contents beside raw contents", () => {
    const wire: InferInputTensor[] = [
      { name: "a", datatype: "FP32", shape: ["1"], contents: { fp32_contents: [1] } },
    ];
    expect(() => tensorsFromWire(wire, [new Uint8Array(4)], "inputs")).toThrow(
      /inputs\[0\] "a": contents must be empty when raw_input_contents is used/,
    );
  });
});
