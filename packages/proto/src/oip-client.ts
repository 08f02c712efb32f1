import { randomUUID } from "node:crypto";
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  credentials as grpcCredentials,
  Metadata,
  type MethodDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  Parameters,
  REQUEST_ID_HEADER,
  SHADOW_HEADER,
  TRACEPARENT_HEADER,
  UmbraError,
} from "@umbra/protocol";
import { umbraCodeOfGrpcStatus, umbraErrorFromGrpc } from "./grpc-status.ts";
import { checkHeaders } from "./internal/call-headers.ts";
import { StreamTransport } from "./internal/stream-transport.ts";
import { loadProtos } from "./load-protos.ts";
import type { InferParameter, ModelInferRequest, ModelInferResponse } from "./messages.ts";
import {
  decodeModelOutput,
  type EncodedInput,
  encodeModelInput,
  inputTensorOf,
  type ModelOutput,
  type OutputNames,
} from "./model-io.ts";
import { DEFAULT_INPUT_NAME, MirrorParameters, OutputTensorNames } from "./names.ts";
import {
  countParameter,
  type ParameterValue,
  parametersFromWire,
  parametersToWire,
} from "./parameters.ts";
import {
  type Datatype,
  type Tensor,
  tensorsFromWire,
  tensorsToWire,
  validateTensor,
} from "./tensors.ts";

/** How an {@link OipClient} reaches its variant. */
export type OipTransport = "unary" | "stream";

/** Options of {@link createOipClient}. */
export interface OipClientOptions {
  /** `host:port` of the variant's gRPC endpoint. */
  readonly address: string;
  /** The model to call (`ModelInferRequest.model_name`). */
  readonly model: string;
  /** The model version; empty (the default) lets the server choose. */
  readonly modelVersion?: string;
  /**
   * `"unary"` (default): one `ModelInfer` call per request — works with every OIP server.
   * `"stream"`: one long-lived `umbra.v1.Mirror/InferStream` per client — Umbra variants only,
   * about 4–5× less caller CPU per call.
   */
  readonly transport?: OipTransport;
  /** Deadline of a call when the call does not give one. Default 5 000 ms. */
  readonly deadlineMs?: number;
  /** At most this many calls in flight; beyond it calls are rejected (`resource_exhausted`). Default 1 024. */
  readonly maxInFlight?: number;
  /**
   * Stream transport: at most this many messages waiting to be written to the stream; beyond it
   * calls are rejected (`resource_exhausted`) until the stream drains. Default 512.
   */
  readonly maxQueuedMessages?: number;
  /** Largest message sent or received. Default 4 MiB (gRPC's default receive limit). */
  readonly maxMessageSizeBytes?: number;
  /** Channel credentials. Default: insecure (plaintext), as on a private network or loopback. */
  readonly credentials?: ChannelCredentials;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: ChannelOptions;
  /** gRPC metadata sent with every call (for the stream transport: with the stream). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Name of the input tensor `infer` and `inferEncoded` send. Default `"input"`. */
  readonly inputName?: string;
  /** Output tensor names to read each {@link ModelOutput} field from. Default: the field names. */
  readonly outputNames?: Partial<OutputNames>;
}

/** Options of one call. */
export interface InferOptions {
  /** The request id: `ModelInferRequest.id` and `x-request-id` metadata. Default: a random UUID. */
  readonly requestId?: string;
  /** The call's deadline, from now. Default: the client's `deadlineMs`. */
  readonly deadlineMs?: number;
  /** Aborting it cancels the call (`cancelled`). */
  readonly signal?: AbortSignal;
  /** W3C `traceparent`, passed through as metadata. */
  readonly traceparent?: string;
  /** Sent as string parameter `umbra_experiment`. */
  readonly experiment?: string;
  /** Sent as string parameter `umbra_variant`. */
  readonly variant?: string;
  /** Marks the call as a mirrored (shadow) call: metadata `x-umbra-shadow: 1`. */
  readonly shadow?: boolean;
  /** Extra gRPC metadata for this call, e.g. forwarded headers (lower-case keys). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Extra request parameters (string, boolean or int64 only). */
  readonly parameters?: Readonly<Record<string, ParameterValue>>;
}

/** The answer of one call. */
export interface InferResult {
  /** The response's id (the request id when the server echoes it, as OIP servers do). */
  readonly id: string;
  readonly model: string;
  readonly modelVersion: string;
  /** The label, scores, embedding and text found among the output tensors. */
  readonly output: ModelOutput;
  /** Every output tensor, raw. */
  readonly tensors: readonly Tensor[];
  /** Response parameters. */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  /** `umbra_side_effect_attempts` from the response; `undefined` when the server did not report it. */
  readonly sideEffectAttempts: number | undefined;
  /** `umbra_cache_hit` from the response, when reported. */
  readonly cacheHit: boolean | undefined;
}

/** Whether a model can serve, and why not. */
export type Readiness =
  | { readonly ready: true }
  | { readonly ready: false; readonly reason: UmbraError };

/** A tensor's metadata with a numeric shape (-1 marks a variable-size dimension). */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype | string;
  readonly shape: readonly number[];
}

/** A model's metadata, as `ModelMetadata` returns it. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** A server's metadata, as `ServerMetadata` returns it. */
export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

/** Counters of an {@link OipClient}. */
export interface OipClientStats {
  /** Calls started (accepted and sent). */
  readonly calls: number;
  readonly inFlight: number;
  /** Calls refused because `maxInFlight` calls were in flight. */
  readonly rejectedInFlight: number;
  /** Stream transport: calls refused because `maxQueuedMessages` were waiting to be written. */
  readonly rejectedBackpressure: number;
  /** Stream transport: streams opened (the first, then one after each failure). */
  readonly streamOpens: number;
  /** Stream transport: streams that failed or were ended by the server. */
  readonly streamFailures: number;
  /** Stream transport: responses whose call had already ended (deadline, abort). */
  readonly lateResponses: number;
  /** Stream transport: responses that could not be decoded. */
  readonly invalidResponses: number;
}

/**
 * A client of one model on one Open Inference Protocol server. Every method rejects with an
 * `UmbraError`; branch on its `code`.
 */
export interface OipClient {
  readonly address: string;
  readonly model: string;
  readonly transport: OipTransport;
  /**
   * Runs the model on `input`: a `Float32Array` (or array of numbers) goes as one FP32 tensor,
   * anything else as one msgpack BYTES tensor (see `encodeModelInput`).
   */
  infer(input: unknown, options?: InferOptions): Promise<InferResult>;
  /** Runs the model on an input encoded once with `encodeModelInput`, e.g. shared by several variants. */
  inferEncoded(input: EncodedInput, options?: InferOptions): Promise<InferResult>;
  /** Runs the model on tensors of your own. */
  inferTensors(tensors: readonly Tensor[], options?: InferOptions): Promise<InferResult>;
  /** `ModelReady`: resolves `{ ready: false, reason }` when not ready, unknown, unreachable or too slow; never rejects. */
  readiness(options?: { readonly deadlineMs?: number }): Promise<Readiness>;
  /** `readiness()` as a boolean. */
  isReady(options?: { readonly deadlineMs?: number }): Promise<boolean>;
  /** `ModelMetadata` of this model. */
  modelMetadata(options?: { readonly deadlineMs?: number }): Promise<ModelMetadata>;
  /** `ServerMetadata`. */
  serverMetadata(options?: { readonly deadlineMs?: number }): Promise<ServerMetadata>;
  /** Counters. */
  stats(): OipClientStats;
  /** Rejects calls in flight with `cancelled` and closes the channel. Idempotent. */
  close(): Promise<void>;
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw UmbraError.invalid(field, `must be a positive integer (got ${value})`);
  }
  return value;
}

function positiveDuration(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw UmbraError.invalid(field, `must be a finite number of milliseconds > 0 (got ${value})`);
  }
  return value;
}

function nonEmpty(field: string, value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw UmbraError.invalid(field, `must be a non-empty string (got ${JSON.stringify(value)})`);
  }
  return value;
}

const DEFAULT_DEADLINE_MS = 5_000;
const DEFAULT_MAX_IN_FLIGHT = 1_024;
const DEFAULT_MAX_QUEUED_MESSAGES = 512;
const DEFAULT_MAX_MESSAGE_SIZE_BYTES = 4 * 1024 * 1024;

/**
 * Creates a client of one model on an Open Inference Protocol server (Triton, KServe, MLServer,
 * OpenVINO Model Server, or an Umbra variant). Throws an `invalid_argument` UmbraError naming the
 * option for bad options; the channel connects lazily, on the first call.
 *
 * @example
 * ```ts
 * const client = createOipClient({ address: "127.0.0.1:8001", model: "ranker", transport: "stream" });
 * const { output } = await client.infer(new Float32Array([0.1, 0.2]), { requestId, shadow: true, deadlineMs: 200 });
 * await client.close();
 * ```
 */
export function createOipClient(options: OipClientOptions): OipClient {
  return new OipClientImpl(options);
}

class OipClientImpl implements OipClient {
  readonly address: string;
  readonly model: string;
  readonly transport: OipTransport;
  readonly #modelVersion: string;
  readonly #deadlineMs: number;
  readonly #maxInFlight: number;
  readonly #inputName: string;
  readonly #outputNames: OutputNames;
  readonly #metadata: Readonly<Record<string, string>>;
  readonly #client: Client;
  readonly #infer: MethodDefinition<ModelInferRequest, ModelInferResponse>;
  readonly #stream: StreamTransport | undefined;
  #inFlight = 0;
  #calls = 0;
  #rejectedInFlight = 0;
  #closed = false;
  /** Unary calls in flight, so close() can reject them with `cancelled` rather than `unavailable`. */
  readonly #unaryCalls = new Set<(error: UmbraError) => void>();

  constructor(options: OipClientOptions) {
    if (typeof options !== "object" || options === null) {
      throw UmbraError.invalid("options", "must be an object");
    }
    this.address = nonEmpty("address", options.address);
    this.model = nonEmpty("model", options.model);
    this.#modelVersion = options.modelVersion ?? "";
    const transport = options.transport ?? "unary";
    if (transport !== "unary" && transport !== "stream") {
      throw UmbraError.invalid(
        "transport",
        `must be "unary" or "stream" (got ${JSON.stringify(transport)})`,
      );
    }
    this.transport = transport;
    this.#deadlineMs = positiveDuration("deadlineMs", options.deadlineMs, DEFAULT_DEADLINE_MS);
    this.#maxInFlight = positiveInteger("maxInFlight", options.maxInFlight, DEFAULT_MAX_IN_FLIGHT);
    const maxMessageSizeBytes = positiveInteger(
      "maxMessageSizeBytes",
      options.maxMessageSizeBytes,
      DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    );
    this.#inputName = nonEmpty("inputName", options.inputName ?? DEFAULT_INPUT_NAME);
    this.#outputNames = { ...OutputTensorNames, ...options.outputNames };
    this.#metadata = checkHeaders(options.metadata ?? {}, "metadata");
    const protos = loadProtos();
    this.#infer = protos.inference.ModelInfer;
    this.#client = new Client(
      this.address,
      options.credentials ?? grpcCredentials.createInsecure(),
      {
        "grpc.max_receive_message_length": maxMessageSizeBytes,
        "grpc.max_send_message_length": maxMessageSizeBytes,
        ...options.channelOptions,
      },
    );
    this.#stream =
      transport === "stream"
        ? new StreamTransport(
            this.#client,
            protos.mirror.InferStream,
            () => this.#baseMetadata(),
            positiveInteger(
              "maxQueuedMessages",
              options.maxQueuedMessages,
              DEFAULT_MAX_QUEUED_MESSAGES,
            ),
          )
        : undefined;
  }

  infer(input: unknown, options?: InferOptions): Promise<InferResult> {
    let encoded: EncodedInput;
    try {
      encoded = encodeModelInput(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.inferEncoded(encoded, options);
  }

  inferEncoded(input: EncodedInput, options: InferOptions = {}): Promise<InferResult> {
    let tensor: Tensor;
    try {
      tensor = inputTensorOf(input, this.#inputName);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call([tensor], options);
  }

  inferTensors(tensors: readonly Tensor[], options: InferOptions = {}): Promise<InferResult> {
    try {
      if (!Array.isArray(tensors) || tensors.length === 0) {
        throw UmbraError.invalid("tensors", "must be a non-empty array of tensors");
      }
      for (const [i, t] of tensors.entries()) validateTensor(t, `tensors[${i}]`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call(tensors, options);
  }

  async readiness(options: { readonly deadlineMs?: number } = {}): Promise<Readiness> {
    try {
      const response = await this.#unary(
        loadProtos().inference.ModelReady,
        { name: this.model, version: this.#modelVersion },
        options.deadlineMs,
        "ModelReady",
      );
      if (response.ready) return { ready: true };
      return {
        ready: false,
        reason: new UmbraError("unavailable", `ModelReady: model ${this.model} is not ready`),
      };
    } catch (error) {
      return { ready: false, reason: UmbraError.from(error) };
    }
  }

  async isReady(options: { readonly deadlineMs?: number } = {}): Promise<boolean> {
    return (await this.readiness(options)).ready;
  }

  async modelMetadata(options: { readonly deadlineMs?: number } = {}): Promise<ModelMetadata> {
    const m = await this.#unary(
      loadProtos().inference.ModelMetadata,
      { name: this.model, version: this.#modelVersion },
      options.deadlineMs,
      "ModelMetadata",
    );
    const spec = (t: { name: string; datatype: string; shape: (string | number)[] }) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape.map(Number),
    });
    return {
      name: m.name,
      versions: m.versions,
      platform: m.platform,
      inputs: m.inputs.map(spec),
      outputs: m.outputs.map(spec),
    };
  }

  async serverMetadata(options: { readonly deadlineMs?: number } = {}): Promise<ServerMetadata> {
    const m = await this.#unary(
      loadProtos().inference.ServerMetadata,
      {},
      options.deadlineMs,
      "ServerMetadata",
    );
    return { name: m.name, version: m.version, extensions: m.extensions };
  }

  stats(): OipClientStats {
    const s = this.#stream?.stats;
    return {
      calls: this.#calls,
      inFlight: this.#inFlight,
      rejectedInFlight: this.#rejectedInFlight,
      rejectedBackpressure: s?.rejectedBackpressure ?? 0,
      streamOpens: s?.streamOpens ?? 0,
      streamFailures: s?.streamFailures ?? 0,
      lateResponses: s?.lateResponses ?? 0,
      invalidResponses: s?.invalidResponses ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream?.close();
    const closed = new UmbraError("cancelled", "the client is closed");
    for (const cancel of [...this.#unaryCalls]) cancel(closed);
    this.#client.close();
  }

  #baseMetadata(): Metadata {
    const m = new Metadata();
    for (const [k, v] of Object.entries(this.#metadata)) m.set(k, v);
    return m;
  }

  #unary<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    deadlineMs: number | undefined,
    what: string,
  ): Promise<Res> {
    if (this.#closed) return Promise.reject(new UmbraError("cancelled", "the client is closed"));
    const ms = positiveDuration("deadlineMs", deadlineMs, this.#deadlineMs);
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.#baseMetadata(),
        { deadline: Date.now() + ms },
        (error: ServiceError | null, response?: Res) => {
          if (error !== null || response === undefined) reject(umbraErrorFromGrpc(error, what));
          else resolve(response);
        },
      );
    });
  }

  async #call(tensors: readonly Tensor[], options: InferOptions): Promise<InferResult> {
    if (this.#closed) throw new UmbraError("cancelled", "the client is closed");
    const deadlineMs = positiveDuration("deadlineMs", options.deadlineMs, this.#deadlineMs);
    if (options.signal?.aborted) {
      throw new UmbraError("cancelled", "the call was aborted before it started", {
        cause: options.signal.reason,
      });
    }
    const id = options.requestId ?? options.metadata?.[REQUEST_ID_HEADER] ?? randomUUID();
    if (typeof id !== "string" || id === "") {
      throw UmbraError.invalid(
        "requestId",
        `must be a non-empty string (got ${JSON.stringify(id)})`,
      );
    }
    const headers: Record<string, string> = { ...checkHeaders(options.metadata ?? {}, "metadata") };
    headers[REQUEST_ID_HEADER] = id;
    if (options.traceparent !== undefined) headers[TRACEPARENT_HEADER] = options.traceparent;
    if (options.shadow === true) headers[SHADOW_HEADER] = "1";
    checkHeaders(headers, "metadata");
    const params: Record<string, InferParameter> = parametersToWire(options.parameters ?? {});
    if (options.experiment !== undefined) {
      params[Parameters.experiment] = { string_param: nonEmpty("experiment", options.experiment) };
    }
    if (options.variant !== undefined) {
      params[Parameters.variant] = { string_param: nonEmpty("variant", options.variant) };
    }
    const wire = tensorsToWire(tensors);
    const request: ModelInferRequest & { id: string } = {
      model_name: this.model,
      model_version: this.#modelVersion,
      id,
      parameters: params,
      inputs: wire.tensors,
      raw_input_contents: wire.raw,
    };
    if (this.#inFlight >= this.#maxInFlight) {
      this.#rejectedInFlight++;
      throw new UmbraError(
        "resource_exhausted",
        `${this.#maxInFlight} calls are already in flight to ${this.model} at ${this.address}`,
      );
    }
    this.#inFlight++;
    this.#calls++;
    try {
      const response =
        this.#stream === undefined
          ? await this.#unaryInfer(request, headers, deadlineMs, options.signal)
          : await this.#streamInfer(request, headers, deadlineMs, options.signal);
      return this.#result(response);
    } finally {
      this.#inFlight--;
    }
  }

  #unaryInfer(
    request: ModelInferRequest,
    headers: Readonly<Record<string, string>>,
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ModelInferResponse> {
    const metadata = this.#baseMetadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    const callOptions: CallOptions = { deadline: Date.now() + deadlineMs };
    return new Promise<ModelInferResponse>((resolve, reject) => {
      let settled = false;
      const settle = (error: UmbraError | null, response?: ModelInferResponse) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        this.#unaryCalls.delete(cancel);
        if (error !== null || response === undefined) reject(error);
        else resolve(response);
      };
      const cancel = (error: UmbraError) => {
        settle(error);
        call.cancel();
      };
      const onAbort = () =>
        cancel(
          new UmbraError("cancelled", "ModelInfer: the call was aborted", {
            cause: signal?.reason,
          }),
        );
      const call = this.#client.makeUnaryRequest(
        this.#infer.path,
        this.#infer.requestSerialize,
        this.#infer.responseDeserialize,
        request,
        metadata,
        callOptions,
        (error: ServiceError | null, response?: ModelInferResponse) => {
          if (error !== null || response === undefined)
            settle(umbraErrorFromGrpc(error, "ModelInfer"));
          else settle(null, response);
        },
      );
      this.#unaryCalls.add(cancel);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  async #streamInfer(
    request: ModelInferRequest & { id: string },
    headers: Readonly<Record<string, string>>,
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ModelInferResponse> {
    const params = request.parameters ?? {};
    for (const [k, v] of Object.entries(headers)) {
      // The id field already carries the request id.
      if (k !== REQUEST_ID_HEADER)
        params[`${MirrorParameters.headerPrefix}${k}`] = { string_param: v };
    }
    params[MirrorParameters.timeoutMs] = { int64_param: Math.ceil(deadlineMs) };
    const response = await (this.#stream as StreamTransport).send(
      { ...request, parameters: params },
      deadlineMs,
      signal,
    );
    const errorCode = response.parameters?.[MirrorParameters.errorCode];
    if (errorCode !== undefined) {
      const code = Number(errorCode.int64_param ?? 2);
      const message = response.parameters?.[MirrorParameters.errorMessage]?.string_param ?? "";
      throw new UmbraError(umbraCodeOfGrpcStatus(code), `Mirror.InferStream: ${message}`);
    }
    return response;
  }

  #result(response: ModelInferResponse): InferResult {
    let tensors: Tensor[];
    let output: ModelOutput;
    let parameters: Record<string, ParameterValue>;
    try {
      tensors = tensorsFromWire(response.outputs ?? [], response.raw_output_contents, "outputs");
      output = decodeModelOutput(tensors, this.#outputNames);
      parameters = parametersFromWire(response.parameters);
    } catch (cause) {
      // The server answered something that breaks the protocol: the call failed, not the caller.
      throw new UmbraError(
        "internal",
        `invalid response from ${this.model} at ${this.address}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
    const cacheHit = parameters[Parameters.cacheHit];
    return {
      id: response.id ?? "",
      model: response.model_name,
      modelVersion: response.model_version ?? "",
      output,
      tensors,
      parameters,
      sideEffectAttempts: countParameter(parameters, Parameters.sideEffectAttempts),
      cacheHit: typeof cacheHit === "boolean" ? cacheHit : undefined,
    };
  }
}
