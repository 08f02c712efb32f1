import { describe, expect, it } from "vitest";
import { jsonFromStruct, structFromJson } from "./flagd-struct.ts";
import { loadProtos } from "./load-protos.ts";
import type { ModelInferRequest, SyncFlagsResponse } from "./messages.ts";

describe("loadProtos", () => {
  it("loads the three services once and returns the same definitions afterwards", () => {
    const a = loadProtos();
    expect(Object.keys(a.inference).sort()).toEqual([
      "ModelInfer",
      "ModelMetadata",
      "ModelReady",
      "ServerLive",
      "ServerMetadata",
      "ServerReady",
    ]);
    expect(a.mirror.InferStream.path).toBe("/umbra.v1.Mirror/InferStream");
    expect(a.flagSync.SyncFlags.responseStream).toBe(true);
    expect(loadProtos()).toBe(a);
  });

  it("round-trips a ModelInferRequest in the hand-written shape, int64 beyond 2^53 included", () => {
    const { ModelInfer } = loadProtos().inference;
    const request: ModelInferRequest = {
      model_name: "ranker",
      id: "r-1",
      parameters: {
        umbra_variant: { string_param: "A" },
        big: { int64_param: "9007199254740993" },
        flag: { bool_param: false },
      },
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 2] }],
      raw_input_contents: [new Uint8Array(new Float32Array([1.5, -2]).buffer)],
    };
    const back = ModelInfer.requestDeserialize(ModelInfer.requestSerialize(request));
    expect(back.model_name).toBe("ranker");
    expect(back.model_version).toBe("");
    expect(back.inputs[0]?.shape).toEqual(["1", "2"]);
    expect(back.parameters?.big).toEqual({
      int64_param: "9007199254740993",
      parameter_choice: "int64_param",
    });
    expect(back.parameters?.flag).toEqual({ bool_param: false, parameter_choice: "bool_param" });
    expect(back.outputs).toEqual([]);
    const raw = back.raw_input_contents?.[0] as Uint8Array;
    expect([...new Float32Array(new Uint8Array(raw).buffer)]).toEqual([1.5, -2]);
  });

  it("carries a flagd sync_context Struct built by structFromJson and reads it back", () => {
    const { SyncFlags } = loadProtos().flagSync;
    const context = {
      env: "prod",
      weight: 2.5,
      on: true,
      tags: ["a", 1, null],
      nested: { x: "y" },
    };
    const message: SyncFlagsResponse = {
      flag_configuration: '{"flags":{}}',
      sync_context: structFromJson(context),
    };
    const back = SyncFlags.responseDeserialize(SyncFlags.responseSerialize(message));
    expect(back.flag_configuration).toBe('{"flags":{}}');
    expect(jsonFromStruct(back.sync_context ?? { fields: {} })).toEqual(context);
  });

  it("refuses a Struct value JSON cannot hold, naming its path", () => {
    expect(() => structFromJson({ a: { b: Number.NaN } })).toThrow(
      /\/a\/b: must be a finite number/,
    );
  });
});
