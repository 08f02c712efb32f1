import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** An HTTP server started by {@link serveHttp}. */
export interface HttpServer {
  /** `http://<host>:<port>`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections, ends idle keep-alive connections and waits for the rest. */
  close(): Promise<void>;
}

/** Listens with `handler` on `host:port` (port 0 picks a free one) and resolves once bound. */
export async function serveHttp(
  handler: RequestListener,
  options: { readonly host: string; readonly port: number },
): Promise<HttpServer> {
  const server: Server = createServer(handler);
  // Keep-alive sockets of finished requests must not hold close() open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
