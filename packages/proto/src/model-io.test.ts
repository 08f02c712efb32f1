import { describe, expect, it } from "vitest";
import {
  decodeModelInput,
  decodeModelOutput,
  encodeModelInput,
  encodeModelOutput,
  inputTensorOf,
} from "./model-io.ts";
import { fp32Tensor } from "./tensors.ts";

describe("model input and output mapping", () => {
  it("sends a Float32Array as one FP32 tensor of shape [1, n] and reads it back as features", () => {
    const tensor = inputTensorOf(encodeModelInput(new Float32Array([0.5, 1, 2])));
    expect(tensor).toMatchObject({ name: "input", datatype: "FP32", shape: [1, 3] });
    const decoded = decodeModelInput([tensor]);
    expect(decoded.kind).toBe("features");
    expect([...(decoded.value as Float32Array)]).toEqual([0.5, 1, 2]);
  });

  it("treats an array of numbers as a feature vector", () => {
    expect(encodeModelInput([1, 2]).kind).toBe("f32");
  });

  it("sends a JSON-like value as one msgpack BYTES element, typed arrays inside intact", () => {
    const input = { region: "eu", n: 3, emb: new Float32Array([1.5, 2.25]), tags: ["a"] };
    const encoded = encodeModelInput(input);
    expect(encoded.kind).toBe("msgpack");
    const tensor = inputTensorOf(encoded, "payload");
    expect(tensor).toMatchObject({
      name: "payload",
      datatype: "BYTES",
      shape: [1],
      parameters: { umbra_encoding: "msgpack" },
    });
    const decoded = decodeModelInput([tensor]);
    expect(decoded).toEqual({ kind: "json", value: input });
  });

  it("hands anything else to the model as raw tensors", () => {
    const tensors = [fp32Tensor("a", [1]), fp32Tensor("b", [2])];
    expect(decodeModelInput(tensors)).toEqual({ kind: "tensors", value: tensors });
  });

  it("names the input when the msgpack element is not msgpack", () => {
    const bad = inputTensorOf({ kind: "msgpack", bytes: new Uint8Array([0x92, 0x01]) });
    expect(() => decodeModelInput([bad])).toThrow(/inputs\[0\] "input": is not valid msgpack/);
  });

  it("maps label, scores, embedding and text to tensors and back", () => {
    const tensors = encodeModelOutput({
      label: "cat",
      scores: [0.25, 0.75],
      embedding: new Float32Array([1, 0]),
      text: "a cat",
    });
    expect(tensors.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ["label", "BYTES", [1]],
      ["text", "BYTES", [1]],
      ["scores", "FP32", [1, 2]],
      ["embedding", "FP32", [1, 2]],
    ]);
    const output = decodeModelOutput(tensors);
    expect(output.label).toBe("cat");
    expect(output.text).toBe("a cat");
    expect([...(output.scores ?? [])]).toEqual([0.25, 0.75]);
    expect([...(output.embedding ?? [])]).toEqual([1, 0]);
  });

  it("refuses model outputs that are not the contract, naming the field", () => {
    expect(() => encodeModelOutput(undefined)).toThrow(/output: must be an object/);
    expect(() => encodeModelOutput({})).toThrow(/must have at least one of label/);
    expect(() => encodeModelOutput({ label: 3 })).toThrow(/output\.label: must be a string/);
    expect(() => encodeModelOutput({ score: 1 })).toThrow(/output\.score: is not an output field/);
    expect(() => encodeModelOutput({ scores: ["x"] })).toThrow(
      /output\.scores: must be a Float32Array/,
    );
    expect(() =>
      encodeModelOutput([{ name: "x", datatype: "FP32", shape: [2], data: new Uint8Array(3) }]),
    ).toThrow(/output\[0\] "x": raw contents are 3 bytes/);
  });

  it("reads outputs under other tensor names when told where to look", () => {
    const output = decodeModelOutput([fp32Tensor("probabilities", [0.1, 0.9])], {
      label: "label",
      scores: "probabilities",
      embedding: "embedding",
      text: "text",
    });
    expect([...(output.scores ?? [])].map((x) => Math.round(x * 10) / 10)).toEqual([0.1, 0.9]);
  });
});
