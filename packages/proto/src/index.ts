export type { FlagConfigurationSource, FlagSyncServer } from "./flag-sync-server.ts";
export { serveFlagSync } from "./flag-sync-server.ts";
export type { JsonValue } from "./flagd-struct.ts";
export { jsonFromStruct, structFromJson } from "./flagd-struct.ts";
export {
  grpcErrorFromUmbra,
  grpcStatusName,
  grpcStatusOfUmbraCode,
  isServiceError,
  umbraCodeOfGrpcStatus,
  umbraErrorFromGrpc,
} from "./grpc-status.ts";
export type {
  FlagSyncServiceDefinition,
  InferenceServiceDefinition,
  LoadedProtos,
  MirrorServiceDefinition,
} from "./load-protos.ts";
export { loadProtos, PROTO_DIR, PROTO_LOADER_OPTIONS, ProtoFiles } from "./load-protos.ts";
export type {
  FetchAllFlagsRequest,
  FetchAllFlagsResponse,
  GetMetadataRequest,
  GetMetadataResponse,
  InferInputTensor,
  InferOutputTensor,
  InferParameter,
  InferRequestedOutputTensor,
  InferTensorContents,
  Int64Input,
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataRequest,
  ModelMetadataResponse,
  ModelReadyRequest,
  ModelReadyResponse,
  ProtoStruct,
  ProtoValue,
  ServerLiveRequest,
  ServerLiveResponse,
  ServerMetadataRequest,
  ServerMetadataResponse,
  ServerReadyRequest,
  ServerReadyResponse,
  SyncFlagsRequest,
  SyncFlagsResponse,
  TensorMetadata,
} from "./messages.ts";
export type {
  DecodedModelInput,
  EncodedInput,
  ModelOutput,
  ModelOutputLike,
  OutputNames,
} from "./model-io.ts";
export {
  decodeModelInput,
  decodeModelOutput,
  encodeModelInput,
  encodeModelOutput,
  inputTensorOf,
  isTensorArray,
} from "./model-io.ts";
export {
  DEFAULT_INPUT_NAME,
  MethodPaths,
  MirrorParameters,
  MSGPACK_ENCODING,
  OutputTensorNames,
  TENSOR_ENCODING_PARAMETER,
} from "./names.ts";
export type {
  InferOptions,
  InferResult,
  ModelMetadata,
  OipClient,
  OipClientOptions,
  OipClientStats,
  OipTransport,
  Readiness,
  ServerMetadata,
  TensorSpec,
} from "./oip-client.ts";
export { createOipClient } from "./oip-client.ts";
export type { ParameterValue } from "./parameters.ts";
export { countParameter, parametersFromWire, parametersToWire } from "./parameters.ts";
export type { Tensor } from "./tensors.ts";
export {
  boolTensor,
  bytesTensor,
  DATATYPE_SIZE_BYTES,
  Datatype,
  decodeBytesElements,
  elementCount,
  encodeBytesElements,
  fp32Tensor,
  int64Tensor,
  isDatatype,
  readBool,
  readBytes,
  readFloat32,
  readInt64,
  readStrings,
  tensorsFromWire,
  tensorsToWire,
  typedTensor,
  validateTensor,
} from "./tensors.ts";
export type { WatchedFlagFile } from "./watch-flag-file.ts";
export { watchFlagFile } from "./watch-flag-file.ts";
