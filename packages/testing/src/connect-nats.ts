import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import {
  connect,
  type NatsConnection,
  type NodeConnectionOptions,
  type Status,
} from "@nats-io/transport-node";
import { UmbraError, UmbraErrorCode } from "@umbra/protocol";
import { RESERVED_NATS_PORT } from "./internal/free-port.ts";

/**
 * The connection options {@link connectNats} starts from: a recognisable client name, and
 * reconnects that never give up and retry fast, so a test that restarts its server sees the
 * client come back within milliseconds instead of the default 2 s wait.
 */
export const TEST_CONNECTION_OPTIONS = {
  name: "umbra-test",
  maxReconnectAttempts: -1,
  reconnectTimeWait: 50,
  reconnectJitter: 0,
  timeout: 5_000,
  noRandomize: true,
} as const satisfies NodeConnectionOptions;

/**
 * Connects to the NATS server at `url` (for example `startNats().url`) with
 * {@link TEST_CONNECTION_OPTIONS}, overridden by `options`. Refuses port 4222 and URLs without a
 * port, so a test can never reach the machine's own NATS by accident. Close the connection with
 * `await nc.close()`.
 *
 * @example
 * ```ts
 * const nc = await connectNats(nats.url);
 * nc.publish("demo.hello", "hi");
 * await nc.close();
 * ```
 */
export async function connectNats(
  url: string,
  options: Omit<NodeConnectionOptions, "servers" | "port"> = {},
): Promise<NatsConnection> {
  assertPrivateUrl(url);
  return connect({ ...TEST_CONNECTION_OPTIONS, ...options, servers: url });
}

/** A NATS connection with its JetStream client and manager; {@link connectJetStream} returns it. */
export interface JetStreamConnection extends AsyncDisposable {
  /** The core connection. */
  readonly nc: NatsConnection;
  /** The JetStream client: publish, consumers. */
  readonly js: JetStreamClient;
  /** The JetStream manager: streams and consumers administration. */
  readonly jsm: JetStreamManager;
  /** Drains nothing and closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects like {@link connectNats} and opens JetStream on the connection: `jetstream(nc)` and
 * `jetstreamManager(nc)` from `@nats-io/jetstream`.
 *
 * @example
 * ```ts
 * await using conn = await connectJetStream(nats.url);
 * await conn.jsm.streams.add({ name: "DEMO", subjects: ["demo.>"] });
 * await conn.js.publish("demo.a", "payload");
 * ```
 */
export async function connectJetStream(
  url: string,
  options: Omit<NodeConnectionOptions, "servers" | "port"> = {},
): Promise<JetStreamConnection> {
  const nc = await connectNats(url, options);
  try {
    return {
      nc,
      ...(await openJetStream(nc)),
      close: () => nc.close(),
      [Symbol.asyncDispose]: () => nc.close(),
    };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

/** The JetStream client and manager of an open connection. */
export async function openJetStream(
  nc: NatsConnection,
): Promise<{ readonly js: JetStreamClient; readonly jsm: JetStreamManager }> {
  return { js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

/**
 * Resolves on the connection's next status event of kind `type` (`"reconnect"`, `"disconnect"`,
 * …). Call it *before* causing the event: requests sent while the client is still reconnecting
 * are lost and only fail at their own timeout, so an outage test waits for `"reconnect"` first.
 * Rejects with `deadline_exceeded` after `timeoutMs` (default 10 000) and with `cancelled` if the
 * connection closes first.
 *
 * @example
 * ```ts
 * const reconnected = waitForStatus(nc, "reconnect");
 * await nats.restart();
 * await reconnected;
 * ```
 */
export function waitForStatus<K extends Status["type"]>(
  nc: NatsConnection,
  type: K,
  options: { readonly timeoutMs?: number } = {},
): Promise<Extract<Status, { type: K }>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw UmbraError.invalid("timeoutMs", `must be a finite number > 0 (got ${timeoutMs})`);
  }
  // status() registers its listener synchronously, so nothing that happens after this call is missed.
  const statuses = nc.status();
  const stop = () => (statuses as { stop?: () => void }).stop?.();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(
        new UmbraError(
          UmbraErrorCode.DeadlineExceeded,
          `waitForStatus: no "${type}" status within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    const watch = async () => {
      for await (const status of statuses) {
        if (status.type === type) {
          clearTimeout(timer);
          stop();
          resolve(status as Extract<Status, { type: K }>);
          return;
        }
      }
      clearTimeout(timer);
      reject(
        new UmbraError(
          UmbraErrorCode.Cancelled,
          `waitForStatus: status stream ended before a "${type}" status`,
        ),
      );
    };
    watch().catch(reject);
  });
}

function assertPrivateUrl(url: string): void {
  if (typeof url !== "string" || url === "") {
    throw UmbraError.invalid("url", "must be a non-empty string such as nats://127.0.0.1:45123");
  }
  let parsed: URL;
  try {
    parsed = new URL(url.includes("://") ? url : `nats://${url}`);
  } catch (error) {
    throw UmbraError.invalid(
      "url",
      `must be a URL such as nats://127.0.0.1:45123 (got ${JSON.stringify(url)})`,
      error,
    );
  }
  if (parsed.port === "" || Number(parsed.port) === RESERVED_NATS_PORT) {
    throw UmbraError.invalid(
      "url",
      `must name a port other than ${RESERVED_NATS_PORT}, which belongs to the machine's own NATS (got ${JSON.stringify(url)})`,
    );
  }
}
