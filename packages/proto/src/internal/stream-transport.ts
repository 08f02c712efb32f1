import type { Client, ClientDuplexStream, Metadata, MethodDefinition } from "@grpc/grpc-js";
import { UmbraError } from "@umbra/protocol";
import { umbraErrorFromGrpc } from "../grpc-status.ts";
import type { ModelInferRequest, ModelInferResponse } from "../messages.ts";
import { MethodPaths } from "../names.ts";

interface Pending {
  readonly stream: ClientDuplexStream<Buffer, Buffer>;
  readonly resolve: (response: ModelInferResponse) => void;
  readonly reject: (error: UmbraError) => void;
  readonly timer: NodeJS.Timeout;
  readonly cleanup: () => void;
}

/** Counters of a {@link StreamTransport}. */
export interface StreamTransportStats {
  streamOpens: number;
  streamFailures: number;
  rejectedBackpressure: number;
  lateResponses: number;
  invalidResponses: number;
}

const identity = (b: Buffer): Buffer => b;

/**
 * One long-lived `umbra.v1.Mirror/InferStream` per client, calls correlated by request id.
 * Serialisation happens here, per call, rather than inside grpc-js, where a failure would cancel
 * the whole stream and every call on it.
 */
export class StreamTransport {
  readonly #client: Client;
  readonly #method: MethodDefinition<ModelInferRequest, ModelInferResponse>;
  readonly #metadata: () => Metadata;
  readonly #pending = new Map<string, Pending>();
  readonly #maxQueuedMessages: number;
  #stream: ClientDuplexStream<Buffer, Buffer> | undefined;
  #closed = false;
  readonly stats: StreamTransportStats = {
    streamOpens: 0,
    streamFailures: 0,
    rejectedBackpressure: 0,
    lateResponses: 0,
    invalidResponses: 0,
  };

  constructor(
    client: Client,
    method: MethodDefinition<ModelInferRequest, ModelInferResponse>,
    metadata: () => Metadata,
    maxQueuedMessages: number,
  ) {
    this.#maxQueuedMessages = maxQueuedMessages;
    this.#client = client;
    this.#method = method;
    this.#metadata = metadata;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends one request on the stream; resolves with the response that carries the same id. */
  send(
    request: ModelInferRequest & { id: string },
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ModelInferResponse> {
    if (this.#closed) return Promise.reject(new UmbraError("cancelled", "the client is closed"));
    const queued = this.#stream?.writableLength ?? 0;
    if (queued >= this.#maxQueuedMessages) {
      this.stats.rejectedBackpressure++;
      // A message whose call timed out stays queued in the stream, so the in-flight cap alone
      // does not bound this queue; refusing here does.
      return Promise.reject(
        new UmbraError(
          "resource_exhausted",
          `Mirror.InferStream: ${queued} messages are waiting to be written (the stream is not draining); call rejected`,
        ),
      );
    }
    const id = request.id;
    if (this.#pending.has(id)) {
      return Promise.reject(
        UmbraError.invalid(
          "requestId",
          `${JSON.stringify(id)} is already in flight on this stream`,
        ),
      );
    }
    let bytes: Buffer;
    try {
      bytes = this.#method.requestSerialize(request);
    } catch (cause) {
      return Promise.reject(
        UmbraError.invalid("request", `cannot be serialised (${String(cause)})`, cause),
      );
    }
    const stream = this.#open();
    return new Promise<ModelInferResponse>((resolve, reject) => {
      const onAbort = () => {
        this.#settle(id)?.reject(
          new UmbraError("cancelled", "Mirror.InferStream: the call was aborted", {
            cause: signal?.reason,
          }),
        );
      };
      const timer = setTimeout(() => {
        this.#settle(id)?.reject(
          new UmbraError(
            "deadline_exceeded",
            `Mirror.InferStream: no response within ${deadlineMs} ms`,
          ),
        );
      }, deadlineMs);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.#pending.set(id, { stream, resolve, reject, timer, cleanup });
      signal?.addEventListener("abort", onAbort, { once: true });
      // write() returns false from grpc-js's 16th queued message on (object-mode default), which
      // an ordinary per-tick burst reaches; the queue bound above is the real limit.
      stream.write(bytes);
    });
  }

  /** Rejects every call in flight with `cancelled` and cancels the stream. */
  close(): void {
    this.#closed = true;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#failAll(new UmbraError("cancelled", "the client is closed"), undefined);
    stream?.cancel();
  }

  #settle(id: string): Pending | undefined {
    const p = this.#pending.get(id);
    if (p === undefined) return undefined;
    this.#pending.delete(id);
    p.cleanup();
    return p;
  }

  #open(): ClientDuplexStream<Buffer, Buffer> {
    if (this.#stream !== undefined) return this.#stream;
    const stream = this.#client.makeBidiStreamRequest<Buffer, Buffer>(
      MethodPaths.mirrorInferStream,
      identity,
      identity,
      this.#metadata(),
    );
    this.#stream = stream;
    this.stats.streamOpens++;
    stream.on("data", (bytes: Buffer) => {
      let response: ModelInferResponse;
      try {
        response = this.#method.responseDeserialize(bytes);
      } catch {
        // Without an id the call cannot be told; it ends at its own deadline.
        this.stats.invalidResponses++;
        return;
      }
      const p = this.#settle(response.id ?? "");
      if (p === undefined) this.stats.lateResponses++;
      else p.resolve(response);
    });
    stream.on("error", (error) => {
      this.#fail(stream, umbraErrorFromGrpc(error, "Mirror.InferStream"));
    });
    stream.on("status", (status: { code: number }) => {
      if (status.code === 0) {
        this.#fail(
          stream,
          new UmbraError("unavailable", "Mirror.InferStream: the server ended the stream"),
        );
      }
    });
    return stream;
  }

  #fail(stream: ClientDuplexStream<Buffer, Buffer>, error: UmbraError): void {
    if (this.#stream === stream) {
      this.#stream = undefined;
      this.stats.streamFailures++;
      // The next call opens a new stream; nothing is resent (callers never retry).
      if (!stream.writableEnded && !stream.destroyed) stream.end();
    }
    this.#failAll(error, stream);
  }

  #failAll(error: UmbraError, stream: ClientDuplexStream<Buffer, Buffer> | undefined): void {
    for (const [id, p] of this.#pending) {
      if (stream !== undefined && p.stream !== stream) continue;
      this.#pending.delete(id);
      p.cleanup();
      p.reject(error);
    }
  }
}
