import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import {
  grpcErrorFromUmbra,
  grpcStatusOfUmbraCode,
  loadProtos,
  MirrorParameters,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataRequest,
  type ModelMetadataResponse,
  type ModelReadyRequest,
  type ModelReadyResponse,
  type ParameterValue,
  type ServerLiveResponse,
  type ServerMetadataResponse,
  type ServerReadyResponse,
} from "@umbra/proto";
import { UmbraError } from "@umbra/protocol";
import {
  type InferenceOutcome,
  requestParameters,
  runInference,
  splitStreamParameters,
} from "./internal/run-inference.ts";
import { type ModelDefinition, type ModelFunction, type NamedModel, namedModels } from "./model.ts";
import { guardSideEffects } from "./shadow-guard.ts";

/** Options of {@link serveVariant}. */
export interface ServeVariantOptions {
  /** The models to serve, by name: a function, or a definition with metadata. */
  readonly models: Readonly<Record<string, ModelFunction | ModelDefinition>>;
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Address to bind. Default `127.0.0.1`; `0.0.0.0` to serve other machines. */
  readonly host?: string;
  /** Server credentials, e.g. `ServerCredentials.createSsl(...)`. Default: insecure (plaintext). */
  readonly credentials?: ServerCredentials;
  /** Largest message received or sent. Default 4 MiB; a larger request gets RESOURCE_EXHAUSTED. */
  readonly maxMessageSizeBytes?: number;
  /** At most this many model calls run at once; beyond it calls get RESOURCE_EXHAUSTED. Default 1 024. */
  readonly maxConcurrentCalls?: number;
  /** Whether the server starts ready (`ServerReady`, `ModelReady`, and inference). Default true. */
  readonly ready?: boolean;
  /** Install the shadow guard while serving (see `guardSideEffects`). Default true. */
  readonly guardSideEffects?: boolean;
  /** How long `close()` lets calls in flight finish before it cuts them off. Default 5 000 ms. */
  readonly shutdownTimeoutMs?: number;
  /** `ServerMetadata.name`. Default `"umbra-variant"`. */
  readonly serverName?: string;
  /** `ServerMetadata.version`. Default this package's version. */
  readonly serverVersion?: string;
}

/** Counters of a {@link VariantServer}. */
export interface VariantServerStats {
  /** Inference calls received (unary and stream). */
  readonly calls: number;
  /** Calls answered with outputs. */
  readonly ok: number;
  /** Calls answered with an error status. */
  readonly failed: number;
  /** Calls whose model finished after the caller had gone (deadline, cancel); nothing was sent. */
  readonly abandoned: number;
  /** Shadow calls received. */
  readonly shadowCalls: number;
  /** Side effects the guard blocked in shadow calls. */
  readonly sideEffectAttempts: number;
  /** Model calls running now. */
  readonly inFlight: number;
  /** Mirror streams open now. */
  readonly streams: number;
}

/** A running variant server. */
export interface VariantServer {
  /** `host:port` to give a client. */
  readonly address: string;
  readonly port: number;
  /** The names of the models served. */
  readonly models: readonly string[];
  /** Whether the server reports ready and accepts inference. */
  readonly ready: boolean;
  /** Marks the server ready or not ready; while not ready, inference gets UNAVAILABLE. */
  setReady(ready: boolean): void;
  stats(): VariantServerStats;
  /**
   * Graceful shutdown: stops accepting calls (UNAVAILABLE), lets calls in flight finish up to
   * `shutdownTimeoutMs`, ends the Mirror streams, then closes; whatever remains is aborted and
   * cut off. Idempotent.
   */
  close(): Promise<void>;
}

function metadataRecord(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) {
    if (typeof v === "string") out[k] = v;
  }
  return out;
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw UmbraError.invalid(field, `must be a positive integer (got ${value})`);
  }
  return value;
}

const VERSION = "0.1.0";

/**
 * Serves model functions as an Open Inference Protocol variant: `inference.GRPCInferenceService`
 * (health, metadata, `ModelInfer`) and the `umbra.v1.Mirror` stream, on one port. Resolves once
 * listening. Bad options throw an `invalid_argument` UmbraError naming the option.
 *
 * @example
 * ```ts
 * const server = await serveVariant({
 *   models: { ranker: (features: Float32Array) => ({ label: features[0]! > 0 ? "yes" : "no" }) },
 * });
 * console.log(server.address); // 127.0.0.1:<port>
 * await server.close();
 * ```
 */
export async function serveVariant(options: ServeVariantOptions): Promise<VariantServer> {
  if (typeof options !== "object" || options === null) {
    throw UmbraError.invalid("options", "must be an object");
  }
  const models = new Map(namedModels(options.models).map((m) => [m.name, m]));
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "")
    throw UmbraError.invalid("host", "must be a non-empty string");
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw UmbraError.invalid("port", `must be an integer from 0 to 65535 (got ${port})`);
  }
  const maxMessageSizeBytes = positiveInteger(
    "maxMessageSizeBytes",
    options.maxMessageSizeBytes,
    4 * 1024 * 1024,
  );
  const maxConcurrentCalls = positiveInteger(
    "maxConcurrentCalls",
    options.maxConcurrentCalls,
    1_024,
  );
  const shutdownTimeoutMs = positiveInteger("shutdownTimeoutMs", options.shutdownTimeoutMs, 5_000);
  const serverName = options.serverName ?? "umbra-variant";
  const serverVersion = options.serverVersion ?? VERSION;

  let ready = options.ready ?? true;
  let closing: Promise<void> | undefined;
  const inFlight = new Set<AbortController>();
  const streams = new Set<ServerDuplexStream<ModelInferRequest, ModelInferResponse>>();
  const counters = {
    calls: 0,
    ok: 0,
    failed: 0,
    abandoned: 0,
    shadowCalls: 0,
    sideEffectAttempts: 0,
  };
  let idle: (() => void) | undefined;

  const lookup = (name: string, version: string | undefined): NamedModel => {
    const m = models.get(name);
    if (m === undefined) {
      throw new UmbraError(
        "not_found",
        `model ${JSON.stringify(name)} is not served here (models: ${[...models.keys()].join(", ")})`,
      );
    }
    if (version && m.version !== undefined && version !== m.version) {
      throw new UmbraError(
        "not_found",
        `model ${name} has no version ${JSON.stringify(version)} (serving ${m.version})`,
      );
    }
    return m;
  };

  /** Runs one call, bounded and abortable; resolves what to send, or undefined if nobody waits. */
  const infer = async (
    request: ModelInferRequest,
    metadata: Readonly<Record<string, string>>,
    parameters: Readonly<Record<string, ParameterValue>>,
    controller: AbortController,
  ): Promise<InferenceOutcome> => {
    counters.calls++;
    if (closing !== undefined || !ready) {
      throw new UmbraError(
        "unavailable",
        closing ? "the server is shutting down" : "the server is not ready",
      );
    }
    const model = lookup(request.model_name, request.model_version);
    if (model.ready !== undefined && !model.ready()) {
      throw new UmbraError("unavailable", `model ${model.name} is not ready`);
    }
    if (inFlight.size >= maxConcurrentCalls) {
      throw new UmbraError("resource_exhausted", `${maxConcurrentCalls} calls are already running`);
    }
    inFlight.add(controller);
    try {
      const outcome = await runInference(model, {
        request,
        metadata,
        parameters,
        signal: controller.signal,
      });
      if (outcome.isShadow) {
        counters.shadowCalls++;
        counters.sideEffectAttempts += outcome.sideEffectAttempts;
      }
      return outcome;
    } finally {
      inFlight.delete(controller);
      if (inFlight.size === 0) idle?.();
    }
  };

  const abortAt = (controller: AbortController, deadlineMs: number): NodeJS.Timeout | undefined => {
    if (!Number.isFinite(deadlineMs)) return undefined;
    return setTimeout(
      () => controller.abort(new UmbraError("deadline_exceeded", "the call's deadline passed")),
      Math.max(0, deadlineMs - Date.now()),
    );
  };

  const protos = loadProtos();
  const server = new Server({
    "grpc.max_receive_message_length": maxMessageSizeBytes,
    "grpc.max_send_message_length": maxMessageSizeBytes,
  });

  const notFound = (name: string) => ({
    code: status.NOT_FOUND,
    details: `model ${JSON.stringify(name)} is not served here (models: ${[...models.keys()].join(", ")})`,
  });

  server.addService(protos.inference as never, {
    ServerLive: (_call: unknown, callback: sendUnaryData<ServerLiveResponse>) =>
      callback(null, { live: true }),
    ServerReady: (_call: unknown, callback: sendUnaryData<ServerReadyResponse>) =>
      callback(null, { ready: ready && closing === undefined }),
    ModelReady: (
      call: ServerUnaryCall<ModelReadyRequest, ModelReadyResponse>,
      callback: sendUnaryData<ModelReadyResponse>,
    ) => {
      const m = models.get(call.request.name);
      if (m === undefined) return callback(notFound(call.request.name));
      callback(null, { ready: ready && closing === undefined && (m.ready?.() ?? true) });
    },
    ServerMetadata: (_call: unknown, callback: sendUnaryData<ServerMetadataResponse>) =>
      // "umbra_mirror" tells a client that umbra.v1.Mirror/InferStream is served too.
      callback(null, { name: serverName, version: serverVersion, extensions: ["umbra_mirror"] }),
    ModelMetadata: (
      call: ServerUnaryCall<ModelMetadataRequest, ModelMetadataResponse>,
      callback: sendUnaryData<ModelMetadataResponse>,
    ) => {
      const m = models.get(call.request.name);
      if (m === undefined) return callback(notFound(call.request.name));
      const spec = (t: { name: string; datatype: string; shape: readonly number[] }) => ({
        name: t.name,
        datatype: t.datatype,
        shape: [...t.shape],
      });
      callback(null, {
        name: m.name,
        versions: m.version === undefined ? [] : [m.version],
        platform: m.platform ?? "umbra_js",
        inputs: (m.inputs ?? []).map(spec),
        outputs: (m.outputs ?? []).map(spec),
      });
    },
    ModelInfer: (
      call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>,
      callback: sendUnaryData<ModelInferResponse>,
    ) => {
      const controller = new AbortController();
      const onCancel = () =>
        controller.abort(
          new UmbraError("cancelled", "the caller cancelled the call or its deadline passed"),
        );
      call.on("cancelled", onCancel);
      const timer = abortAt(controller, Number(call.getDeadline()));
      let parameters: Record<string, ParameterValue>;
      try {
        parameters = requestParameters(call.request);
      } catch (error) {
        counters.calls++;
        counters.failed++;
        clearTimeout(timer);
        call.off("cancelled", onCancel);
        return callback(grpcErrorFromUmbra(error));
      }
      infer(call.request, metadataRecord(call.metadata), parameters, controller)
        .then(
          (outcome) => {
            if (call.cancelled || controller.signal.aborted) {
              counters.abandoned++;
              return;
            }
            counters.ok++;
            callback(null, outcome.response);
          },
          (error: unknown) => {
            if (call.cancelled || controller.signal.aborted) {
              counters.abandoned++;
              return;
            }
            counters.failed++;
            callback(grpcErrorFromUmbra(error));
          },
        )
        .finally(() => {
          clearTimeout(timer);
          call.off("cancelled", onCancel);
        });
    },
  });

  server.addService(protos.mirror as never, {
    InferStream: (call: ServerDuplexStream<ModelInferRequest, ModelInferResponse>) => {
      streams.add(call);
      const streamMetadata = metadataRecord(call.metadata);
      const running = new Set<AbortController>();
      let clientDone = false;
      const finishIfDone = () => {
        if (clientDone && running.size === 0 && !call.writableEnded && !call.cancelled) call.end();
      };
      const send = (response: ModelInferResponse) => {
        if (!call.cancelled && !call.writableEnded) call.write(response);
      };
      const sendError = (request: ModelInferRequest, error: unknown) => {
        const e = UmbraError.from(error);
        send({
          model_name: request.model_name ?? "",
          id: request.id ?? "",
          outputs: [],
          parameters: {
            [MirrorParameters.errorCode]: { int64_param: grpcStatusOfUmbraCode(e.code) },
            [MirrorParameters.errorMessage]: { string_param: e.message },
          },
        });
      };
      call.on("data", (request: ModelInferRequest) => {
        const controller = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        running.add(controller);
        const done = () => {
          clearTimeout(timer);
          running.delete(controller);
          finishIfDone();
        };
        let split: ReturnType<typeof splitStreamParameters>;
        try {
          if (!request.id)
            throw UmbraError.invalid(
              "id",
              "is required on the Mirror stream (it correlates the response)",
            );
          split = splitStreamParameters(requestParameters(request));
        } catch (error) {
          counters.calls++;
          counters.failed++;
          sendError(request, error);
          done();
          return;
        }
        if (split.timeoutMs !== undefined)
          timer = abortAt(controller, Date.now() + split.timeoutMs);
        const metadata = { ...streamMetadata, ...split.headers, "x-request-id": request.id };
        infer(request, metadata, split.rest, controller)
          .then(
            (outcome) => {
              if (controller.signal.aborted) counters.abandoned++;
              else {
                counters.ok++;
                send(outcome.response);
              }
            },
            (error: unknown) => {
              if (controller.signal.aborted) counters.abandoned++;
              else {
                counters.failed++;
                sendError(request, error);
              }
            },
          )
          .finally(done);
      });
      const abortAll = () => {
        for (const c of running) c.abort(new UmbraError("cancelled", "the Mirror stream ended"));
      };
      call.on("end", () => {
        clientDone = true;
        finishIfDone();
      });
      call.on("cancelled", abortAll);
      call.on("error", abortAll);
      call.on("close", () => streams.delete(call));
    },
  });

  const boundPort = await new Promise<number>((resolve, reject) => {
    const credentials = options.credentials ?? ServerCredentials.createInsecure();
    server.bindAsync(`${host}:${port}`, credentials, (error, p) => {
      if (error) {
        reject(
          new UmbraError("unavailable", `cannot listen on ${host}:${port}: ${error.message}`, {
            cause: error,
          }),
        );
      } else {
        resolve(p);
      }
    });
  });
  const uninstallGuard = (options.guardSideEffects ?? true) ? guardSideEffects() : undefined;
  const address = `${host.includes(":") ? `[${host}]` : host}:${boundPort}`;

  const shutdown = async (): Promise<void> => {
    const deadline = Date.now() + shutdownTimeoutMs;
    if (inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, shutdownTimeoutMs);
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    idle = undefined;
    for (const c of inFlight) c.abort(new UmbraError("cancelled", "the server is shutting down"));
    for (const s of streams) if (!s.writableEnded && !s.cancelled) s.end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          server.forceShutdown();
          resolve();
        },
        Math.max(0, deadline - Date.now()),
      );
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    uninstallGuard?.();
  };

  return {
    address,
    port: boundPort,
    models: [...models.keys()],
    get ready() {
      return ready && closing === undefined;
    },
    setReady(value: boolean) {
      ready = value;
    },
    stats: () => ({ ...counters, inFlight: inFlight.size, streams: streams.size }),
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
