import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { UmbraError } from "@umbra/protocol";
import { loadProtos } from "./load-protos.ts";
import type {
  FetchAllFlagsRequest,
  FetchAllFlagsResponse,
  GetMetadataRequest,
  GetMetadataResponse,
  SyncFlagsRequest,
  SyncFlagsResponse,
} from "./messages.ts";

/** Where a flag sync server gets its flags: the current configuration and its changes. */
export interface FlagConfigurationSource {
  /** The current flag file as JSON text, or `undefined` before the first valid one. */
  current(): string | undefined;
  /** Calls `listener` with every new configuration; returns the unsubscribe function. */
  subscribe(listener: (configuration: string) => void): () => void;
}

/** A running `flagd.sync.v1.FlagSyncService`. */
export interface FlagSyncServer {
  /** `host:port` to give a flagd provider (`{ host, port }`) or flagd (`--sources` grpc). */
  readonly address: string;
  readonly port: number;
  /** Open `SyncFlags` streams right now. */
  streams(): number;
  close(): Promise<void>;
}

/**
 * Serves flags over `flagd.sync.v1.FlagSyncService`, the protocol the flagd daemon serves on its
 * sync port and consumes from `grpc` sources: `SyncFlags` sends the whole configuration on
 * connect and again on every change; `FetchAllFlags` returns it once. The in-process
 * `@openfeature/flagd-provider` and the flagd daemon both accept this server. Selectors are
 * ignored: one server serves one flag set.
 *
 * @example
 * ```ts
 * const flags = await watchFlagFile("./flags.json");
 * const server = await serveFlagSync({ source: flags, port: 8015 });
 * // SDK: flags: { flagd: { host: "127.0.0.1", port: server.port } }
 * ```
 */
export async function serveFlagSync(options: {
  readonly source: FlagConfigurationSource;
  readonly port?: number;
  readonly host?: string;
}): Promise<FlagSyncServer> {
  const { flagSync } = loadProtos();
  const server = new Server();
  const open = new Set<ServerWritableStream<SyncFlagsRequest, SyncFlagsResponse>>();
  server.addService(flagSync as never, {
    SyncFlags(call: ServerWritableStream<SyncFlagsRequest, SyncFlagsResponse>) {
      open.add(call);
      const send = (configuration: string) => {
        if (!call.cancelled && call.writable) call.write({ flag_configuration: configuration });
      };
      const first = options.source.current();
      if (first !== undefined) send(first);
      const unsubscribe = options.source.subscribe(send);
      const done = () => {
        unsubscribe();
        open.delete(call);
      };
      call.on("cancelled", done);
      call.on("close", done);
      call.on("error", done);
    },
    FetchAllFlags(
      _call: ServerUnaryCall<FetchAllFlagsRequest, FetchAllFlagsResponse>,
      callback: sendUnaryData<FetchAllFlagsResponse>,
    ) {
      const current = options.source.current();
      if (current === undefined)
        callback({ code: status.UNAVAILABLE, details: "no valid flag configuration yet" });
      else callback(null, { flag_configuration: current });
    },
    GetMetadata(
      _call: ServerUnaryCall<GetMetadataRequest, GetMetadataResponse>,
      callback: sendUnaryData<GetMetadataResponse>,
    ) {
      callback(null, { metadata: { fields: {} } });
    },
  });
  const host = options.host ?? "127.0.0.1";
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${host}:${options.port ?? 0}`,
      ServerCredentials.createInsecure(),
      (error, p) =>
        error
          ? reject(
              new UmbraError(
                "unavailable",
                `flag sync server: cannot bind ${host}:${options.port ?? 0} (${error.message})`,
                { cause: error },
              ),
            )
          : resolve(p),
    ),
  );
  return {
    address: `${host}:${port}`,
    port,
    streams: () => open.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const call of open) call.end();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
