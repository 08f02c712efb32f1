// A grpc-js server of the OIP and Mirror services whose answers each test scripts: a real
// server on 127.0.0.1 (port 0) for tests of the client, which cannot depend on @umbra/variant.
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { loadProtos } from "../load-protos.ts";
import type { ModelInferRequest, ModelInferResponse } from "../messages.ts";
import { encodeModelOutput } from "../model-io.ts";
import { tensorsToWire } from "../tensors.ts";

/** What a scripted server answers: a response, a status, or nothing at all. */
export type Reply = ModelInferResponse | { code: number; details: string } | "hang";
/** Decides the answer to one request (metadata of the call, or of the stream). */
export type Handler = (
  request: ModelInferRequest,
  metadata: Record<string, string>,
) => Reply | Promise<Reply>;

/** A running scripted server and what it received. */
export interface TestServer {
  address: string;
  received: { request: ModelInferRequest; metadata: Record<string, string> }[];
  streams: number;
  close(): Promise<void>;
}

function flat(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) out[k] = String(v);
  return out;
}

/** An answer with a label and two scores, echoing the request id. */
export function answer(
  request: ModelInferRequest,
  extra: Partial<ModelInferResponse> = {},
): ModelInferResponse {
  const wire = tensorsToWire(
    encodeModelOutput({ label: `for ${request.id}`, scores: [0.25, 0.75] }),
  );
  return {
    model_name: request.model_name,
    model_version: "7",
    id: request.id ?? "",
    outputs: wire.tensors,
    raw_output_contents: wire.raw,
    ...extra,
  };
}

/**
 * Starts a scripted OIP + Mirror server on 127.0.0.1 (port 0). `stream` picks the Mirror
 * behaviour: `"serve"` (default), `"never-read"` (never consumes, so HTTP/2 flow control stops
 * the writer) or `"end-after-first"` (ends the stream on the first message).
 */
export async function startTestServer(
  handler: Handler,
  options: { ready?: boolean; stream?: "serve" | "never-read" | "end-after-first" } = {},
): Promise<TestServer> {
  const protos = loadProtos();
  const server = new Server();
  const received: TestServer["received"] = [];
  const state = { streams: 0 };
  const reply = async (request: ModelInferRequest, metadata: Record<string, string>) => {
    received.push({ request, metadata });
    return handler(request, metadata);
  };
  server.addService(protos.inference as never, {
    ModelInfer: async (
      call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>,
      callback: sendUnaryData<ModelInferResponse>,
    ) => {
      const r = await reply(call.request, flat(call.metadata));
      if (r === "hang") return;
      if ("code" in r) callback(r);
      else callback(null, r);
    },
    ModelReady: (_call: unknown, callback: sendUnaryData<{ ready: boolean }>) =>
      callback(null, { ready: options.ready ?? true }),
  });
  server.addService(protos.mirror as never, {
    InferStream: (call: ServerDuplexStream<ModelInferRequest, ModelInferResponse>) => {
      state.streams++;
      if (options.stream === "never-read") return;
      const streamMetadata = flat(call.metadata);
      call.on("data", async (request: ModelInferRequest) => {
        if (options.stream === "end-after-first") {
          call.end();
          return;
        }
        const r = await reply(request, streamMetadata);
        if (r === "hang" || call.cancelled || call.writableEnded) return;
        if ("code" in r) {
          call.write({
            model_name: request.model_name,
            id: request.id ?? "",
            outputs: [],
            parameters: {
              umbra_error_code: { int64_param: r.code },
              umbra_error_message: { string_param: r.details },
            },
          });
        } else {
          call.write(r);
        }
      });
      call.on("end", () => call.end());
      call.on("error", () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const s: TestServer = {
    address: `127.0.0.1:${port}`,
    received,
    get streams() {
      return state.streams;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
  return s;
}
