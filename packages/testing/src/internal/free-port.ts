import { createServer } from "node:net";

/** The port that a NATS on this machine may be using; the kit never hands it out. */
export const RESERVED_NATS_PORT = 4222;

/**
 * Asks the OS for a free TCP port on 127.0.0.1 by binding port 0 and closing again. Another
 * process may grab the port before the caller binds it; callers retry on EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
        const address = server.address();
        const p = typeof address === "object" && address !== null ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (port !== 0 && port !== RESERVED_NATS_PORT) return port;
  }
}
