import { hostname } from "node:os";
import { CollectorError } from "./collector-error.ts";

/** Everything the collector reads from its environment, validated once by {@link loadConfig}. */
export interface CollectorConfig {
  /** NATS server URL(s), comma-separated in `UMBRA_NATS_URL`. */
  readonly natsServers: readonly string[];
  /** Interface the HTTP API binds to (`UMBRA_HTTP_HOST`). */
  readonly httpHost: string;
  /** Port of the HTTP API (`UMBRA_HTTP_PORT`); 0 picks a free port. */
  readonly httpPort: number;
  /** Spec files or directories of `*.json` specs loaded at startup (`UMBRA_SPECS`). */
  readonly specPaths: readonly string[];
  /** This replica's name in leases and checkpoints (`UMBRA_REPLICA_ID`); unique per running process. */
  readonly replicaId: string;
  /** Longest time applied messages wait for their checkpoint (`UMBRA_CHECKPOINT_INTERVAL_MS`). */
  readonly checkpointIntervalMs: number;
  /** Applied-but-unacknowledged messages per experiment that force an early checkpoint (`UMBRA_CHECKPOINT_MAX_PENDING`). */
  readonly checkpointMaxPending: number;
  /** How long a lease lives without a heartbeat (`UMBRA_LEASE_TTL_MS`); a crashed replica's experiments move after it. */
  readonly leaseTtlMs: number;
  /** How often replicas look for new experiments and rebalance (`UMBRA_DISCOVERY_INTERVAL_MS`). */
  readonly discoveryIntervalMs: number;
  /** JetStream redelivery delay of an unacknowledged message (`UMBRA_ACK_WAIT_MS`). */
  readonly ackWaitMs: number;
  /** Most experiments one replica aggregates at once (`UMBRA_MAX_EXPERIMENTS`). */
  readonly maxExperiments: number;
  /** Recent pair message ids kept in each checkpoint for late-duplicate dedupe (`UMBRA_DEDUPE_IDS`). */
  readonly dedupeIds: number;
  /** JetStream duplicate window of the streams, for publisher retries (`UMBRA_DUPLICATE_WINDOW_MS`). */
  readonly duplicateWindowMs: number;
  /** Age after which the streams drop records (`UMBRA_STREAM_MAX_AGE_MS`). */
  readonly streamMaxAgeMs: number;
  /** Replicas of each stream and bucket in a NATS cluster (`UMBRA_STREAM_REPLICAS`: 1, 3 or 5). */
  readonly streamReplicas: number;
  /** Pairs kept waiting for their label, per experiment (`UMBRA_PENDING_LABELS`). */
  readonly pendingLabels: number;
  /** pino log level (`UMBRA_LOG_LEVEL`). */
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

/** The defaults {@link loadConfig} uses for every variable that is not set. */
export const DEFAULT_CONFIG: Omit<CollectorConfig, "replicaId"> = {
  natsServers: ["nats://127.0.0.1:4222"],
  httpHost: "127.0.0.1",
  httpPort: 7070,
  specPaths: [],
  checkpointIntervalMs: 1_000,
  checkpointMaxPending: 5_000,
  leaseTtlMs: 10_000,
  discoveryIntervalMs: 2_000,
  ackWaitMs: 30_000,
  maxExperiments: 256,
  dedupeIds: 10_000,
  duplicateWindowMs: 120_000,
  streamMaxAgeMs: 8 * 86_400_000,
  streamReplicas: 1,
  pendingLabels: 20_000,
  logLevel: "info",
};

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Reads the collector's configuration from `env` once and fails fast: an invalid value throws
 * an `invalid_argument` {@link CollectorError} naming the variable and the rule it broke.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * ```
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): CollectorConfig {
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw CollectorError.invalid(
        name,
        `must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`,
      );
    }
    return value;
  };
  const list = (name: string): string[] | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return undefined;
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  };

  const natsServers = list("UMBRA_NATS_URL") ?? [...DEFAULT_CONFIG.natsServers];
  natsServers.forEach((url) => {
    let parsed: URL;
    try {
      parsed = new URL(url.includes("://") ? url : `nats://${url}`);
    } catch (cause) {
      throw CollectorError.invalid(
        "UMBRA_NATS_URL",
        `must be a comma-separated list of URLs such as nats://127.0.0.1:4222 (got ${JSON.stringify(url)})`,
        cause,
      );
    }
    if (!["nats:", "tls:", "ws:", "wss:"].includes(parsed.protocol)) {
      throw CollectorError.invalid(
        "UMBRA_NATS_URL",
        `must use nats://, tls://, ws:// or wss:// (got ${JSON.stringify(url)})`,
      );
    }
  });

  const replicaId = env.UMBRA_REPLICA_ID?.trim() || `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(replicaId)) {
    throw CollectorError.invalid(
      "UMBRA_REPLICA_ID",
      `must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-' (got ${JSON.stringify(replicaId)})`,
    );
  }

  const logLevel = (env.UMBRA_LOG_LEVEL?.trim() || DEFAULT_CONFIG.logLevel) as string;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw CollectorError.invalid(
      "UMBRA_LOG_LEVEL",
      `must be one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(logLevel)})`,
    );
  }

  const streamReplicas = int("UMBRA_STREAM_REPLICAS", DEFAULT_CONFIG.streamReplicas, 1, 5);
  if (![1, 3, 5].includes(streamReplicas)) {
    throw CollectorError.invalid(
      "UMBRA_STREAM_REPLICAS",
      `must be 1, 3 or 5 (got ${streamReplicas})`,
    );
  }

  const config: CollectorConfig = {
    natsServers,
    httpHost: env.UMBRA_HTTP_HOST?.trim() || DEFAULT_CONFIG.httpHost,
    httpPort: int("UMBRA_HTTP_PORT", DEFAULT_CONFIG.httpPort, 0, 65_535),
    specPaths: list("UMBRA_SPECS") ?? [],
    replicaId,
    checkpointIntervalMs: int(
      "UMBRA_CHECKPOINT_INTERVAL_MS",
      DEFAULT_CONFIG.checkpointIntervalMs,
      10,
      600_000,
    ),
    checkpointMaxPending: int(
      "UMBRA_CHECKPOINT_MAX_PENDING",
      DEFAULT_CONFIG.checkpointMaxPending,
      1,
      1_000_000,
    ),
    leaseTtlMs: int("UMBRA_LEASE_TTL_MS", DEFAULT_CONFIG.leaseTtlMs, 500, 3_600_000),
    discoveryIntervalMs: int(
      "UMBRA_DISCOVERY_INTERVAL_MS",
      DEFAULT_CONFIG.discoveryIntervalMs,
      50,
      3_600_000,
    ),
    ackWaitMs: int("UMBRA_ACK_WAIT_MS", DEFAULT_CONFIG.ackWaitMs, 1_000, 3_600_000),
    maxExperiments: int("UMBRA_MAX_EXPERIMENTS", DEFAULT_CONFIG.maxExperiments, 1, 100_000),
    dedupeIds: int("UMBRA_DEDUPE_IDS", DEFAULT_CONFIG.dedupeIds, 0, 1_000_000),
    duplicateWindowMs: int(
      "UMBRA_DUPLICATE_WINDOW_MS",
      DEFAULT_CONFIG.duplicateWindowMs,
      1_000,
      7 * 86_400_000,
    ),
    streamMaxAgeMs: int("UMBRA_STREAM_MAX_AGE_MS", DEFAULT_CONFIG.streamMaxAgeMs, 60_000),
    streamReplicas,
    pendingLabels: int("UMBRA_PENDING_LABELS", DEFAULT_CONFIG.pendingLabels, 0, 10_000_000),
    logLevel: logLevel as CollectorConfig["logLevel"],
  };
  if (config.checkpointIntervalMs * 2 >= config.ackWaitMs) {
    // A checkpoint must land well before JetStream redelivers what it covers.
    throw CollectorError.invalid(
      "UMBRA_CHECKPOINT_INTERVAL_MS",
      `must be less than half of UMBRA_ACK_WAIT_MS (${config.ackWaitMs})`,
    );
  }
  if (config.leaseTtlMs < config.checkpointIntervalMs * 2) {
    throw CollectorError.invalid(
      "UMBRA_LEASE_TTL_MS",
      `must be at least twice UMBRA_CHECKPOINT_INTERVAL_MS (${config.checkpointIntervalMs})`,
    );
  }
  if (config.duplicateWindowMs > config.streamMaxAgeMs) {
    throw CollectorError.invalid(
      "UMBRA_DUPLICATE_WINDOW_MS",
      `must not exceed UMBRA_STREAM_MAX_AGE_MS (${config.streamMaxAgeMs})`,
    );
  }
  return config;
}
