/**
 * Parameter names of the `umbra.v1.Mirror` stream conventions (see `proto/umbra/v1/mirror.proto`).
 * A stream's gRPC metadata belongs to the whole stream, so per-call data rides in the messages.
 */
export const MirrorParameters = {
  /** Prefix of a request string parameter carrying one per-call header, e.g. `umbra_header_traceparent`. */
  headerPrefix: "umbra_header_",
  /** int64 request parameter: the call's remaining time budget in ms; the server aborts the model when it runs out. */
  timeoutMs: "umbra_timeout_ms",
  /** int64 response parameter: the gRPC status code of a call that failed on the stream. */
  errorCode: "umbra_error_code",
  /** String response parameter: the message of a call that failed on the stream. */
  errorMessage: "umbra_error_message",
} as const;

/**
 * Tensor parameter naming how a BYTES tensor's single element is encoded. Umbra clients send
 * JSON-like inputs as one BYTES element of standard msgpack and mark it with
 * `umbra_encoding = "msgpack"`, so a server can tell it from a plain string tensor.
 */
export const TENSOR_ENCODING_PARAMETER = "umbra_encoding";

/** The value of {@link TENSOR_ENCODING_PARAMETER} for msgpack. */
export const MSGPACK_ENCODING = "msgpack";

/**
 * Names of the output tensors that map to the fields of a `ModelOutput`: `label` and `text`
 * are BYTES tensors of one UTF-8 element; `scores` and `embedding` are FP32 tensors.
 */
export const OutputTensorNames = {
  label: "label",
  scores: "scores",
  embedding: "embedding",
  text: "text",
} as const;

/** The default name of the single input tensor an Umbra client sends. */
export const DEFAULT_INPUT_NAME = "input";

/** gRPC paths of the methods Umbra calls, for logs and interceptors. */
export const MethodPaths = {
  serverLive: "/inference.GRPCInferenceService/ServerLive",
  serverReady: "/inference.GRPCInferenceService/ServerReady",
  modelReady: "/inference.GRPCInferenceService/ModelReady",
  serverMetadata: "/inference.GRPCInferenceService/ServerMetadata",
  modelMetadata: "/inference.GRPCInferenceService/ModelMetadata",
  modelInfer: "/inference.GRPCInferenceService/ModelInfer",
  mirrorInferStream: "/umbra.v1.Mirror/InferStream",
  syncFlags: "/flagd.sync.v1.FlagSyncService/SyncFlags",
  fetchAllFlags: "/flagd.sync.v1.FlagSyncService/FetchAllFlags",
  getMetadata: "/flagd.sync.v1.FlagSyncService/GetMetadata",
} as const;
