// Hand-written TypeScript shapes of the protobuf messages Umbra uses, as `@grpc/proto-loader`
// produces and accepts them with PROTO_LOADER_OPTIONS: field names exactly as in the .proto
// (keepCase), int64 as decimal strings on decode (longs: String; never a lossy number), bytes as
// Buffer (a Uint8Array), every scalar, repeated and map field present on decode (defaults,
// arrays, objects), and the set member of a oneof named by its virtual field (oneofs).
// `src/conformance.test.ts` pins the .proto against the specification; the round-trip tests pin
// these shapes against the loader.

/**
 * An int64 as sent: a safe-integer number or a decimal string. Decoded int64 values are always
 * decimal strings, so values beyond 2^53 never lose precision silently.
 */
export type Int64Input = number | string;

/** `inference.InferParameter`: exactly one of bool, int64 or string. */
export interface InferParameter {
  bool_param?: boolean;
  int64_param?: Int64Input;
  string_param?: string;
  /** On decode: which member is set. */
  parameter_choice?: "bool_param" | "int64_param" | "string_param";
}

/** `inference.InferTensorContents`: tensor contents as typed values, one field per element type. */
export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64Input[];
  uint_contents?: number[];
  uint64_contents?: Int64Input[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** `inference.ModelInferRequest.InferInputTensor`. */
export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: Int64Input[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

/** `inference.ModelInferRequest.InferRequestedOutputTensor`. */
export interface InferRequestedOutputTensor {
  name: string;
  parameters?: Record<string, InferParameter>;
}

/** `inference.ModelInferRequest`. */
export interface ModelInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs: InferInputTensor[];
  outputs?: InferRequestedOutputTensor[];
  raw_input_contents?: Uint8Array[];
}

/** `inference.ModelInferResponse.InferOutputTensor`. */
export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: Int64Input[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

/** `inference.ModelInferResponse`. */
export interface ModelInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  raw_output_contents?: Uint8Array[];
}

/** `inference.ServerLiveRequest`. */
export type ServerLiveRequest = Record<string, never>;
/** `inference.ServerLiveResponse`. */
export interface ServerLiveResponse {
  live: boolean;
}
/** `inference.ServerReadyRequest`. */
export type ServerReadyRequest = Record<string, never>;
/** `inference.ServerReadyResponse`. */
export interface ServerReadyResponse {
  ready: boolean;
}
/** `inference.ModelReadyRequest`. */
export interface ModelReadyRequest {
  name: string;
  version?: string;
}
/** `inference.ModelReadyResponse`. */
export interface ModelReadyResponse {
  ready: boolean;
}
/** `inference.ServerMetadataRequest`. */
export type ServerMetadataRequest = Record<string, never>;
/** `inference.ServerMetadataResponse`. */
export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}
/** `inference.ModelMetadataRequest`. */
export interface ModelMetadataRequest {
  name: string;
  version?: string;
}
/** `inference.ModelMetadataResponse.TensorMetadata`. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  /** -1 marks a variable-size dimension. */
  shape: Int64Input[];
}
/** `inference.ModelMetadataResponse`. */
export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/**
 * `google.protobuf.Struct` as the loader sees it. It comes from protobufjs's bundled descriptors,
 * whose field names are camelCase (`stringValue`, not `string_value`) even with keepCase; use
 * `structFromJson`/`jsonFromStruct` rather than building it by hand.
 */
export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}
/** `google.protobuf.Value` as the loader sees it (camelCase member names). */
export interface ProtoValue {
  nullValue?: "NULL_VALUE" | 0;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values: ProtoValue[] };
  /** On decode: which member is set. */
  kind?: "nullValue" | "numberValue" | "stringValue" | "boolValue" | "structValue" | "listValue";
}

/** `flagd.sync.v1.SyncFlagsRequest`. */
export interface SyncFlagsRequest {
  provider_id?: string;
  /** Deprecated upstream in favour of the `Flagd-Selector` header. */
  selector?: string;
}
/** `flagd.sync.v1.SyncFlagsResponse`. */
export interface SyncFlagsResponse {
  /** The whole flag file as JSON. */
  flag_configuration: string;
  sync_context?: ProtoStruct | null;
}
/** `flagd.sync.v1.FetchAllFlagsRequest`. */
export interface FetchAllFlagsRequest {
  provider_id?: string;
  /** Deprecated upstream in favour of the `Flagd-Selector` header. */
  selector?: string;
}
/** `flagd.sync.v1.FetchAllFlagsResponse`. */
export interface FetchAllFlagsResponse {
  flag_configuration: string;
}
/** `flagd.sync.v1.GetMetadataRequest` (deprecated upstream). */
export type GetMetadataRequest = Record<string, never>;
/** `flagd.sync.v1.GetMetadataResponse` (deprecated upstream; use `SyncFlagsResponse.sync_context`). */
export interface GetMetadataResponse {
  metadata?: ProtoStruct | null;
}
