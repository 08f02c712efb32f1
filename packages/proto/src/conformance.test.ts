// Pins every message, field name, field number, type and service method of Umbra's .proto files
// against tables transcribed by hand from the published specifications:
// - kserve/open-inference-protocol `specification/protocol/inference_grpc.md` (InferParameter as
//   the markdown specifies it: bool, int64 and string only) and `open_inference_grpc.proto`;
// - open-feature/flagd-schemas `protobuf/flagd/sync/v1/sync.proto`;
// - Umbra's own `umbra.v1.Mirror`.
// A wrong number here is a wire incompatibility with Triton, KServe, MLServer or flagd.
import { join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { PROTO_DIR, ProtoFiles } from "./load-protos.ts";

/** Message → field → "number type", as in the specification. */
const SPEC: Record<string, Record<string, string>> = {
  "inference.ServerLiveRequest": {},
  "inference.ServerLiveResponse": { live: "1 bool" },
  "inference.ServerReadyRequest": {},
  "inference.ServerReadyResponse": { ready: "1 bool" },
  "inference.ModelReadyRequest": { name: "1 string", version: "2 string" },
  "inference.ModelReadyResponse": { ready: "1 bool" },
  "inference.ServerMetadataRequest": {},
  "inference.ServerMetadataResponse": {
    name: "1 string",
    version: "2 string",
    extensions: "3 repeated string",
  },
  "inference.ModelMetadataRequest": { name: "1 string", version: "2 string" },
  "inference.ModelMetadataResponse": {
    name: "1 string",
    versions: "2 repeated string",
    platform: "3 string",
    inputs: "4 repeated inference.ModelMetadataResponse.TensorMetadata",
    outputs: "5 repeated inference.ModelMetadataResponse.TensorMetadata",
  },
  "inference.ModelMetadataResponse.TensorMetadata": {
    name: "1 string",
    datatype: "2 string",
    shape: "3 repeated int64",
  },
  "inference.ModelInferRequest": {
    model_name: "1 string",
    model_version: "2 string",
    id: "3 string",
    parameters: "4 map<string, inference.InferParameter>",
    inputs: "5 repeated inference.ModelInferRequest.InferInputTensor",
    outputs: "6 repeated inference.ModelInferRequest.InferRequestedOutputTensor",
    raw_input_contents: "7 repeated bytes",
  },
  "inference.ModelInferRequest.InferInputTensor": {
    name: "1 string",
    datatype: "2 string",
    shape: "3 repeated int64",
    parameters: "4 map<string, inference.InferParameter>",
    contents: "5 inference.InferTensorContents",
  },
  "inference.ModelInferRequest.InferRequestedOutputTensor": {
    name: "1 string",
    parameters: "2 map<string, inference.InferParameter>",
  },
  "inference.ModelInferResponse": {
    model_name: "1 string",
    model_version: "2 string",
    id: "3 string",
    parameters: "4 map<string, inference.InferParameter>",
    outputs: "5 repeated inference.ModelInferResponse.InferOutputTensor",
    raw_output_contents: "6 repeated bytes",
  },
  "inference.ModelInferResponse.InferOutputTensor": {
    name: "1 string",
    datatype: "2 string",
    shape: "3 repeated int64",
    parameters: "4 map<string, inference.InferParameter>",
    contents: "5 inference.InferTensorContents",
  },
  "inference.InferParameter": {
    bool_param: "1 bool oneof parameter_choice",
    int64_param: "2 int64 oneof parameter_choice",
    string_param: "3 string oneof parameter_choice",
  },
  "inference.InferTensorContents": {
    bool_contents: "1 repeated bool",
    int_contents: "2 repeated int32",
    int64_contents: "3 repeated int64",
    uint_contents: "4 repeated uint32",
    uint64_contents: "5 repeated uint64",
    fp32_contents: "6 repeated float",
    fp64_contents: "7 repeated double",
    bytes_contents: "8 repeated bytes",
  },
  "flagd.sync.v1.SyncFlagsRequest": { provider_id: "1 string", selector: "2 string" },
  "flagd.sync.v1.SyncFlagsResponse": {
    flag_configuration: "1 string",
    sync_context: "2 optional google.protobuf.Struct",
  },
  "flagd.sync.v1.FetchAllFlagsRequest": { provider_id: "1 string", selector: "2 string" },
  "flagd.sync.v1.FetchAllFlagsResponse": { flag_configuration: "1 string" },
  "flagd.sync.v1.GetMetadataRequest": {},
  "flagd.sync.v1.GetMetadataResponse": { metadata: "2 google.protobuf.Struct" },
};

/** Service → method → "Request -> Response", `stream` where the specification streams. */
const SERVICES: Record<string, Record<string, string>> = {
  "inference.GRPCInferenceService": {
    ServerLive: "inference.ServerLiveRequest -> inference.ServerLiveResponse",
    ServerReady: "inference.ServerReadyRequest -> inference.ServerReadyResponse",
    ModelReady: "inference.ModelReadyRequest -> inference.ModelReadyResponse",
    ServerMetadata: "inference.ServerMetadataRequest -> inference.ServerMetadataResponse",
    ModelMetadata: "inference.ModelMetadataRequest -> inference.ModelMetadataResponse",
    ModelInfer: "inference.ModelInferRequest -> inference.ModelInferResponse",
  },
  "flagd.sync.v1.FlagSyncService": {
    SyncFlags: "flagd.sync.v1.SyncFlagsRequest -> stream flagd.sync.v1.SyncFlagsResponse",
    FetchAllFlags: "flagd.sync.v1.FetchAllFlagsRequest -> flagd.sync.v1.FetchAllFlagsResponse",
    GetMetadata: "flagd.sync.v1.GetMetadataRequest -> flagd.sync.v1.GetMetadataResponse",
  },
  "umbra.v1.Mirror": {
    InferStream: "stream inference.ModelInferRequest -> stream inference.ModelInferResponse",
  },
};

/**
 * The .proto sources parsed by protobufjs reflection (the parser under @grpc/proto-loader), so
 * field membership in oneofs, proto3 `optional`, maps and reserved ranges are all visible.
 */
function parse(): protobuf.Root {
  const root = new protobuf.Root();
  // google/protobuf/*.proto resolve to protobufjs's bundled copies, as they do for the loader.
  root.resolvePath = (_origin, target) =>
    target.startsWith("google/protobuf/") ? target : join(PROTO_DIR, target);
  root.loadSync([ProtoFiles.inference, ProtoFiles.flagdSync, ProtoFiles.mirror], {
    keepCase: true,
  });
  root.resolveAll();
  return root;
}

function walk(
  ns: protobuf.NamespaceBase,
  types: protobuf.Type[],
  services: protobuf.Service[],
): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) types.push(nested);
    if (nested instanceof protobuf.Service) services.push(nested);
    if (nested instanceof protobuf.Namespace) walk(nested, types, services);
  }
}

const name = (t: { fullName: string }) => t.fullName.replace(/^\./, "");

function describeField(f: protobuf.Field): string {
  f.resolve();
  const type = f.resolvedType === null ? f.type : name(f.resolvedType);
  if (f instanceof protobuf.MapField) return `${f.id} map<${f.keyType}, ${type}>`;
  const label = f.repeated ? "repeated " : f.options?.proto3_optional ? "optional " : "";
  const oneof = f.partOf !== null && !f.options?.proto3_optional ? ` oneof ${f.partOf.name}` : "";
  return `${f.id} ${label}${type}${oneof}`;
}

describe("conformance with the published specifications", () => {
  const root = parse();
  const types: protobuf.Type[] = [];
  const services: protobuf.Service[] = [];
  for (const pkg of ["inference", "flagd.sync.v1", "umbra.v1"]) {
    walk(root.lookup(pkg) as protobuf.Namespace, types, services);
  }
  const byName = new Map(types.map((t) => [name(t), t]));

  it("declares exactly the messages of the specifications, no more, no fewer", () => {
    expect([...byName.keys()].sort()).toEqual(Object.keys(SPEC).sort());
  });

  for (const [message, fields] of Object.entries(SPEC)) {
    it(`gives ${message} exactly the specification's field names, numbers and types`, () => {
      const t = byName.get(message);
      expect(t, `${message} is missing`).toBeDefined();
      const actual = Object.fromEntries(
        (t as protobuf.Type).fieldsArray.map((f) => [f.name, describeField(f)]),
      );
      expect(actual).toEqual(fields);
    });
  }

  it("reserves numbers 4 and 5 of InferParameter (double and uint64 are not portable)", () => {
    expect(byName.get("inference.InferParameter")?.reserved).toEqual([
      [4, 4],
      [5, 5],
    ]);
  });

  it("keeps field 1 of the deprecated flagd GetMetadataResponse reserved, as upstream does", () => {
    expect(byName.get("flagd.sync.v1.GetMetadataResponse")?.reserved).toEqual([[1, 1]]);
  });

  it("declares exactly the services of the specifications", () => {
    expect(services.map(name).sort()).toEqual(Object.keys(SERVICES).sort());
  });

  for (const [service, methods] of Object.entries(SERVICES)) {
    it(`gives ${service} exactly the specification's methods and streaming`, () => {
      const s = services.find((x) => name(x) === service) as protobuf.Service;
      const actual = Object.fromEntries(
        s.methodsArray.map((m) => {
          m.resolve();
          const req = name(m.resolvedRequestType as protobuf.Type);
          const res = name(m.resolvedResponseType as protobuf.Type);
          return [
            m.name,
            `${m.requestStream ? "stream " : ""}${req} -> ${m.responseStream ? "stream " : ""}${res}`,
          ];
        }),
      );
      expect(actual).toEqual(methods);
    });
  }
});
