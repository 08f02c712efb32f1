import { fileURLToPath } from "node:url";
import type { MethodDefinition } from "@grpc/grpc-js";
import { loadSync, type Options, type PackageDefinition } from "@grpc/proto-loader";
import type {
  FetchAllFlagsRequest,
  FetchAllFlagsResponse,
  GetMetadataRequest,
  GetMetadataResponse,
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataRequest,
  ModelMetadataResponse,
  ModelReadyRequest,
  ModelReadyResponse,
  ServerLiveRequest,
  ServerLiveResponse,
  ServerMetadataRequest,
  ServerMetadataResponse,
  ServerReadyRequest,
  ServerReadyResponse,
  SyncFlagsRequest,
  SyncFlagsResponse,
} from "./messages.ts";

/** Absolute path of the directory holding Umbra's `.proto` sources (the loader's include dir). */
export const PROTO_DIR: string = fileURLToPath(new URL("../proto/", import.meta.url));

/** The `.proto` files, relative to {@link PROTO_DIR}. */
export const ProtoFiles = {
  /** `inference.GRPCInferenceService`, the Open Inference Protocol. */
  inference: "inference/open_inference_grpc.proto",
  /** `flagd.sync.v1.FlagSyncService`. */
  flagdSync: "flagd/sync/v1/sync.proto",
  /** `umbra.v1.Mirror`. */
  mirror: "umbra/v1/mirror.proto",
} as const;

/**
 * The `@grpc/proto-loader` options every Umbra process uses; the hand-written message types in
 * `messages.ts` describe exactly these. int64 decodes to a decimal string (`longs: String`)
 * because `Number` would round values beyond 2^53 without a word.
 */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  arrays: true,
  objects: true,
  includeDirs: [PROTO_DIR],
});

/** The methods of `inference.GRPCInferenceService`, typed. */
export interface InferenceServiceDefinition {
  readonly ServerLive: MethodDefinition<ServerLiveRequest, ServerLiveResponse>;
  readonly ServerReady: MethodDefinition<ServerReadyRequest, ServerReadyResponse>;
  readonly ModelReady: MethodDefinition<ModelReadyRequest, ModelReadyResponse>;
  readonly ServerMetadata: MethodDefinition<ServerMetadataRequest, ServerMetadataResponse>;
  readonly ModelMetadata: MethodDefinition<ModelMetadataRequest, ModelMetadataResponse>;
  readonly ModelInfer: MethodDefinition<ModelInferRequest, ModelInferResponse>;
}

/** The method of `umbra.v1.Mirror`, typed. */
export interface MirrorServiceDefinition {
  readonly InferStream: MethodDefinition<ModelInferRequest, ModelInferResponse>;
}

/** The methods of `flagd.sync.v1.FlagSyncService`, typed. */
export interface FlagSyncServiceDefinition {
  readonly SyncFlags: MethodDefinition<SyncFlagsRequest, SyncFlagsResponse>;
  readonly FetchAllFlags: MethodDefinition<FetchAllFlagsRequest, FetchAllFlagsResponse>;
  readonly GetMetadata: MethodDefinition<GetMetadataRequest, GetMetadataResponse>;
}

/** Everything {@link loadProtos} returns. */
export interface LoadedProtos {
  /** The raw package definition, keyed by fully qualified name (services, messages, descriptors). */
  readonly packageDefinition: PackageDefinition;
  /** For `server.addService` and `Client` calls. */
  readonly inference: InferenceServiceDefinition;
  readonly mirror: MirrorServiceDefinition;
  readonly flagSync: FlagSyncServiceDefinition;
}

let loaded: LoadedProtos | undefined;

/**
 * Loads Umbra's three `.proto` files with {@link PROTO_LOADER_OPTIONS} and returns their service
 * definitions. The first call parses (about 20 ms); later calls return the same immutable result.
 */
export function loadProtos(): LoadedProtos {
  if (loaded !== undefined) return loaded;
  const packageDefinition = loadSync(
    [ProtoFiles.inference, ProtoFiles.flagdSync, ProtoFiles.mirror],
    PROTO_LOADER_OPTIONS,
  );
  const service = <T>(name: string): T => {
    const definition = packageDefinition[name];
    if (definition === undefined || "format" in definition) {
      throw new Error(`${name} is not a service in ${PROTO_DIR}`);
    }
    return definition as unknown as T;
  };
  loaded = Object.freeze({
    packageDefinition,
    inference: service<InferenceServiceDefinition>("inference.GRPCInferenceService"),
    mirror: service<MirrorServiceDefinition>("umbra.v1.Mirror"),
    flagSync: service<FlagSyncServiceDefinition>("flagd.sync.v1.FlagSyncService"),
  });
  return loaded;
}
