import { connect } from "node:net";

/** The fields of a nats-server INFO line the kit checks. */
export interface NatsInfo {
  readonly server_name?: string;
  readonly port?: number;
  readonly jetstream?: boolean;
  readonly version?: string;
}

const MAX_INFO_BYTES = 64 * 1024;

/**
 * Connects to 127.0.0.1:`port`, reads the INFO line every nats-server sends first, and closes.
 * Resolves `undefined` when nothing (or not a NATS server) answers within `timeoutMs`.
 */
export function readNatsInfo(port: number, timeoutMs: number): Promise<NatsInfo | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let buffered = "";
    let settled = false;
    const finish = (info: NatsInfo | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(info);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("error", () => finish(undefined));
    socket.on("close", () => finish(undefined));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf("\r\n");
      if (end === -1) {
        if (buffered.length > MAX_INFO_BYTES) finish(undefined);
        return;
      }
      const line = buffered.slice(0, end);
      if (!line.startsWith("INFO ")) return finish(undefined);
      try {
        finish(JSON.parse(line.slice(5)) as NatsInfo);
      } catch {
        finish(undefined);
      }
    });
  });
}
