import { hostname } from "node:os";
import { resolve } from "node:path";
import { type DecisionPolicy, resolveDecisionPolicy } from "@umbra/compare";
import { UmbraError } from "@umbra/protocol";
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
  /**
   * The flagd flag file the collector rewrites when it promotes or rolls back (`UMBRA_FLAG_FILE`),
   * as an absolute path; `null`: promotion is off (the collector only reports).
   */
  readonly flagFile: string | null;
  /** Interface of the flagd.sync.v1 endpoint (`UMBRA_FLAG_SYNC_HOST`). */
  readonly flagSyncHost: string;
  /** Port of the flagd.sync.v1 endpoint serving the flag file (`UMBRA_FLAG_SYNC_PORT`; 0: a free port; `null`: not served). */
  readonly flagSyncPort: number | null;
  /**
   * The bearer token of the mutating HTTP endpoints (`UMBRA_ADMIN_TOKEN`); `null`: read-only, the
   * mutating endpoints answer 403.
   */
  readonly adminToken: string | null;
  /** How often the advancer of each held experiment evaluates its promotion (`UMBRA_DECISION_TICK_MS`). */
  readonly decisionTickMs: number;
  /**
   * A candidate's evaluation that changes nothing is logged when its decision or rule differs from
   * the last logged one, or this long after it (`UMBRA_DECISION_SAMPLE_MS`; 0 logs every tick).
   */
  readonly decisionSampleMs: number;
  /** Operational bounds of the decision engine (`UMBRA_DECISION_POLICY`, a JSON object), all fields resolved. */
  readonly decisionPolicy: DecisionPolicy;
  /** Most decision records kept per experiment in `UMBRA_DECISIONS` (`UMBRA_DECISION_LOG_MAX`). */
  readonly decisionLogMax: number;
  /**
   * How long after a flag write a new stage's evidence starts (`UMBRA_FLAG_SETTLE_MS`): the time
   * the SDKs take to apply the flag (ms through the sync endpoint, about a second through a flagd
   * polling the file), so requests planned under the old routing stay out of the new stage.
   */
  readonly flagSettleMs: number;
}

/** The defaults {@link loadConfig} uses for every variable that is not set. */
export const DEFAULT_CONFIG: Omit<CollectorConfig, "replicaId" | "decisionPolicy"> = {
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
  flagFile: null,
  flagSyncHost: "127.0.0.1",
  flagSyncPort: null,
  adminToken: null,
  decisionTickMs: 1_000,
  decisionSampleMs: 60_000,
  decisionLogMax: 100_000,
  flagSettleMs: 2_000,
};

/** The shortest admin token accepted: a guessable token is worse than none. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

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

  const adminToken = env.UMBRA_ADMIN_TOKEN?.trim() || null;
  if (
    adminToken !== null &&
    (adminToken.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(adminToken))
  ) {
    // The value itself never goes into the message: it may be the real token with a typo.
    throw CollectorError.invalid(
      "UMBRA_ADMIN_TOKEN",
      `must be at least ${MIN_ADMIN_TOKEN_LENGTH} printable ASCII characters without spaces`,
    );
  }
  const flagFile = env.UMBRA_FLAG_FILE?.trim() ? resolve(env.UMBRA_FLAG_FILE.trim()) : null;
  const syncPortRaw = env.UMBRA_FLAG_SYNC_PORT?.trim();
  const flagSyncPort =
    syncPortRaw === undefined || syncPortRaw === ""
      ? null
      : int("UMBRA_FLAG_SYNC_PORT", 0, 0, 65_535);
  if (flagSyncPort !== null && flagFile === null) {
    throw CollectorError.invalid(
      "UMBRA_FLAG_SYNC_PORT",
      "needs UMBRA_FLAG_FILE: the endpoint serves that file",
    );
  }
  let decisionPolicy: DecisionPolicy;
  const policyRaw = env.UMBRA_DECISION_POLICY?.trim();
  try {
    const parsed: unknown = policyRaw ? JSON.parse(policyRaw) : {};
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw CollectorError.invalid(
        "UMBRA_DECISION_POLICY",
        'must be a JSON object such as {"maxIdleMs":60000}',
      );
    }
    decisionPolicy = resolveDecisionPolicy(parsed as Partial<DecisionPolicy>);
  } catch (error) {
    if (error instanceof CollectorError) throw error;
    const e = error instanceof UmbraError ? error : undefined;
    throw CollectorError.invalid(
      `UMBRA_DECISION_POLICY${e?.field === undefined ? "" : `.${e.field.replace(/^policy\./, "")}`}`,
      e?.rule ?? 'must be a JSON object such as {"maxIdleMs":60000}',
      error,
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
    flagFile,
    flagSyncHost: env.UMBRA_FLAG_SYNC_HOST?.trim() || DEFAULT_CONFIG.flagSyncHost,
    flagSyncPort,
    adminToken,
    decisionTickMs: int("UMBRA_DECISION_TICK_MS", DEFAULT_CONFIG.decisionTickMs, 50, 3_600_000),
    decisionSampleMs: int(
      "UMBRA_DECISION_SAMPLE_MS",
      DEFAULT_CONFIG.decisionSampleMs,
      0,
      86_400_000,
    ),
    decisionPolicy,
    decisionLogMax: int("UMBRA_DECISION_LOG_MAX", DEFAULT_CONFIG.decisionLogMax, 100, 100_000_000),
    flagSettleMs: int("UMBRA_FLAG_SETTLE_MS", DEFAULT_CONFIG.flagSettleMs, 0, 600_000),
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
