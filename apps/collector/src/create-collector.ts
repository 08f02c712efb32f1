import { randomBytes } from "node:crypto";
import { access, open as openFile, rename, rm } from "node:fs/promises";
import type { RequestListener } from "node:http";
import { basename, dirname, join } from "node:path";
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { createDecisionEngine, type DecisionEngine } from "@umbra/compare";
import {
  type FlagSyncServer,
  serveFlagSync,
  type WatchedFlagFile,
  watchFlagFile,
} from "@umbra/proto";
import { buildFlagFile, type ExperimentSpec } from "@umbra/protocol";
import { type Logger, pino } from "pino";
import { CheckpointStore } from "./checkpoint/checkpoint-store.ts";
import { type CollectorBuckets, openBuckets } from "./checkpoint/open-buckets.ts";
import { CollectorError, CollectorErrorCode } from "./collector-error.ts";
import type { CollectorService, HealthStatus } from "./collector-service.ts";
import type { CollectorConfig } from "./config.ts";
import { createHttpApi } from "./http/http-api.ts";
import { ensureStreams } from "./ingest/ensure-streams.ts";
import { type CollectorMetrics, createCollectorMetrics } from "./metrics/collector-metrics.ts";
import { checkBearer } from "./promotion/admin-token.ts";
import { sendControl } from "./promotion/control-channel.ts";
import { readDecisions } from "./promotion/decision-log.ts";
import { FlagFileStore } from "./promotion/flag-file-store.ts";
import { buildPromotionStatus, type PromotionStatus } from "./promotion/promotion-status.ts";
import { Coordinator } from "./replicas/coordinator.ts";
import { LeaseManager } from "./replicas/lease-manager.ts";
import {
  buildReport,
  type ExamplesQuery,
  type ExamplesResponse,
  type ExperimentReport,
  type ExperimentSummary,
  type ExperimentView,
  type ExportQuery,
  listExamples,
} from "./reports/experiment-report.ts";
import { type RegisterResult, SpecRegistry } from "./specs/spec-registry.ts";
import { ExperimentState } from "./state/experiment-state.ts";

/** What {@link createCollector} needs; `main.ts` builds it from the environment, tests inject it. */
export interface CollectorDeps {
  /** An open NATS connection; the collector uses it but never closes it. */
  readonly nc: NatsConnection;
  readonly config: CollectorConfig;
  /** Specs to register at start (read from `UMBRA_SPECS` by `main.ts`). */
  readonly specs?: readonly ExperimentSpec[];
  /** Default: pino at `config.logLevel` on stderr. */
  readonly logger?: Logger;
  /** Default: `Date.now`. */
  readonly now?: () => number;
}

/** The collector service, built but not listening; see {@link createCollector}. */
export interface Collector extends CollectorService {
  /** The HTTP API as a Node request listener: pass it to `http.createServer` or `serveHttp`. */
  readonly handler: RequestListener;
  readonly metrics: CollectorMetrics;
  /** Creates streams and buckets, registers specs, takes leases and starts consuming. */
  start(): Promise<void>;
  /** One coordination round now (renew leases, discover, rebalance); tests use it to avoid waiting. */
  round(): Promise<void>;
  /** Experiments whose lease this replica holds. */
  held(): string[];
  /** `host:port` of the flagd.sync.v1 endpoint, once started; `null` when not served. */
  flagSyncAddress(): string | null;
  /** Runs one promotion tick of `experiment` now, if this replica advances it; tests use it. */
  tick(experiment: string): Promise<void>;
  /** Stops consuming with a final checkpoint per experiment, releases leases. Leaves `nc` open. */
  close(): Promise<void>;
}

interface Started {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly buckets: CollectorBuckets;
  readonly store: CheckpointStore;
  readonly specs: SpecRegistry;
  readonly leases: LeaseManager;
  readonly coordinator: Coordinator;
  readonly flags: FlagFileStore | undefined;
  readonly sync: { readonly watched: WatchedFlagFile; readonly server: FlagSyncServer } | undefined;
}

/** How long a command waits for the replica holding the experiment. */
const COMMAND_TIMEOUT_MS = 15_000;
/** Engines kept for status pages of other replicas' experiments. */
const MAX_STATUS_ENGINES = 64;

/** Creates an empty flag file if there is none, atomically, so watchers and flagd can start. */
async function ensureFlagFile(path: string): Promise<void> {
  try {
    await access(path);
    return;
  } catch {
    // Missing: create it below.
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.init.tmp`);
  const handle = await openFile(temp, "wx", 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(buildFlagFile({}), null, 2)}\n`, "utf8");
  } finally {
    await handle.close();
  }
  try {
    await access(path);
    // Someone else created it meanwhile: theirs wins.
    await rm(temp, { force: true });
  } catch {
    await rename(temp, path);
  }
}

/**
 * Builds the collector without listening: streams, buckets, leases and consumers are created by
 * `start()`, the HTTP API is `handler`. Tests inject a NATS connection to a private server.
 *
 * @example
 * ```ts
 * const collector = createCollector({ nc, config: loadConfig(process.env) });
 * await collector.start();
 * const http = await serveHttp(collector.handler, { host: "127.0.0.1", port: 0 });
 * ```
 */
export function createCollector(deps: CollectorDeps): Collector {
  const { nc, config } = deps;
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? pino({ level: config.logLevel }, pino.destination(2));
  const metrics = createCollectorMetrics(config.replicaId);
  const incarnation = randomBytes(6).toString("hex");
  let started: Started | undefined;
  let status: HealthStatus["status"] = "starting";
  let connected = true;
  const statuses = nc.status();
  // Follows the connection so /healthz answers 503 while NATS is unreachable.
  const watching = (async () => {
    for await (const s of statuses) {
      if (s.type === "disconnect") connected = false;
      if (s.type === "reconnect") connected = true;
    }
  })().catch(() => undefined);
  const checkpointCache = new Map<string, { revision: number; state: ExperimentState }>();
  const statusEngines = new Map<string, DecisionEngine>();
  const engineFor = (experiment: string, hash: string): DecisionEngine | undefined => {
    const registered = started?.specs.get(experiment);
    if (registered?.hash !== hash) return undefined;
    const own = started?.coordinator.advancer(experiment)?.engineFor(registered);
    if (own !== undefined) return own;
    let engine = statusEngines.get(hash);
    if (engine === undefined) {
      engine = createDecisionEngine({
        spec: registered.spec,
        specHash: hash,
        policy: config.decisionPolicy,
      });
      if (statusEngines.size >= MAX_STATUS_ENGINES) statusEngines.clear();
      statusEngines.set(hash, engine);
    }
    return engine;
  };
  const promotionStatus = async (experiment: string): Promise<PromotionStatus> => {
    const v = await view(experiment);
    const slot = v.state.promotion;
    const advancer = started?.coordinator.advancer(experiment);
    return buildPromotionStatus({
      experiment,
      slot,
      registered: v.spec,
      engine: slot === undefined ? undefined : engineFor(experiment, slot.control.specHash),
      source: v.source,
      owner: v.owner ?? null,
      flagFileConfigured: config.flagFile !== null,
      flagProblem: advancer?.flagProblem ?? null,
      lastError: advancer?.lastError ?? null,
    });
  };

  const need = (): Started => {
    if (started === undefined || status === "closed") {
      throw new CollectorError(
        CollectorErrorCode.Unavailable,
        status === "closed" ? "the collector is closed" : "the collector is still starting",
      );
    }
    return started;
  };

  const view = async (experiment: string): Promise<ExperimentView> => {
    const s = need();
    const spec = s.specs.get(experiment);
    const partition = s.coordinator.partitions.get(experiment);
    if (partition?.state !== undefined) {
      return {
        experiment,
        state: partition.state,
        source: "memory",
        owner: config.replicaId,
        revision: undefined,
        spec,
      };
    }
    const [stored, holder] = await Promise.all([
      s.store.read(experiment),
      s.leases.holder(experiment),
    ]);
    if (stored === undefined) {
      if (spec === undefined && !s.coordinator.known.has(experiment)) {
        throw new CollectorError(
          CollectorErrorCode.NotFound,
          `path.experiment: no experiment named ${experiment} (no spec, no records, no checkpoint)`,
          { field: "path.experiment" },
        );
      }
    }
    const context = {
      experiment,
      spec: () => spec,
      dedupeIds: config.dedupeIds,
      pendingLabels: config.pendingLabels,
      onDrop: () => undefined,
    };
    let state: ExperimentState;
    if (stored === undefined) state = ExperimentState.create(context);
    else {
      const cached = checkpointCache.get(experiment);
      if (cached?.revision === stored.revision) state = cached.state;
      else {
        state = ExperimentState.fromJSON(stored.json, context);
        checkpointCache.set(experiment, { revision: stored.revision, state });
      }
    }
    return {
      experiment,
      state,
      source: "checkpoint",
      owner: holder?.owner,
      revision: stored?.revision,
      spec,
    };
  };

  const service: CollectorService = {
    health: () => ({
      status: status === "ok" && (!connected || nc.isClosed()) ? "degraded" : status,
      replica: config.replicaId,
      experiments: started === undefined ? [] : [...started.coordinator.partitions.keys()],
      flagFile: config.flagFile,
      flagSync: started?.sync?.server.address ?? null,
      readOnly: config.adminToken === null,
    }),
    metricsText: async () => {
      await started?.coordinator.refreshPending();
      if (started?.sync !== undefined) metrics.flagSyncStreams.set(started.sync.server.streams());
      return { contentType: metrics.registry.contentType, text: await metrics.registry.metrics() };
    },
    experiments: async (): Promise<ExperimentSummary[]> => {
      const s = need();
      const names = new Set([
        ...s.coordinator.known,
        ...s.specs.list().map((r) => r.spec.experiment),
        ...(await s.store.experiments()),
      ]);
      const out: ExperimentSummary[] = [];
      for (const experiment of [...names].sort()) {
        const v = await view(experiment);
        out.push({
          experiment,
          owner: v.owner ?? null,
          specHash: v.spec?.hash ?? null,
          pairs: v.state.counts.pairs,
          variants: [...v.state.aggregate.variants].sort(),
        });
      }
      return out;
    },
    registerSpec: (body: unknown, experiment: string): Promise<RegisterResult> =>
      need().specs.register(body, { field: "body", experiment }),
    spec: async (experiment: string) => {
      const registered = need().specs.get(experiment);
      if (registered === undefined) {
        throw new CollectorError(
          CollectorErrorCode.NotFound,
          `path.experiment: no spec registered for ${experiment}`,
          { field: "path.experiment" },
        );
      }
      return { experiment, specHash: registered.hash, spec: registered.spec };
    },
    report: async (experiment: string): Promise<ExperimentReport> =>
      buildReport(await view(experiment), now()),
    previousReport: async (experiment: string, version: string) => {
      const v = await view(experiment);
      const previous = v.state.previousReport;
      if (
        previous === null ||
        previous.specHash === null ||
        !previous.specHash.startsWith(version)
      ) {
        throw new CollectorError(
          CollectorErrorCode.NotFound,
          `query.version: ${experiment} keeps no report of version ${version} (only the version before the current one is kept, when small)`,
          { field: "query.version" },
        );
      }
      return { experiment, ...previous };
    },
    authorize: (authorization: string | undefined) => checkBearer(authorization, config.adminToken),
    status: promotionStatus,
    decisions: async (experiment, query) => {
      const s = need();
      const v = await view(experiment);
      const currentHash = v.state.promotion?.control.specHash ?? v.spec?.hash;
      return readDecisions(s.js, s.jsm, experiment, {
        limit: query.limit,
        ...(query.version === "current" && currentHash !== undefined
          ? { specHash: currentHash }
          : {}),
      });
    },
    command: async (experiment, command) => {
      need();
      if (config.flagFile === null) {
        throw new CollectorError(
          CollectorErrorCode.Unavailable,
          "promotion is off: this collector has no UMBRA_FLAG_FILE",
        );
      }
      await view(experiment);
      return sendControl(nc, experiment, command, COMMAND_TIMEOUT_MS);
    },
    examples: async (experiment: string, query: ExamplesQuery): Promise<ExamplesResponse> => {
      const all = listExamples(await view(experiment), query);
      return { experiment, total: all.length, examples: all.slice(0, query.limit) };
    },
    exportExamples: async (experiment: string, query: ExportQuery) => {
      const examples = listExamples(await view(experiment), query);
      return {
        total: examples.length,
        lines: examples.map((e) => JSON.stringify({ experiment, ...e })),
      };
    },
  };

  return {
    ...service,
    handler: createHttpApi(service, logger),
    metrics,
    async start() {
      if (started !== undefined) return;
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await ensureStreams(jsm, {
        duplicateWindowMs: config.duplicateWindowMs,
        maxAgeMs: config.streamMaxAgeMs,
        replicas: config.streamReplicas,
      });
      const buckets = await openBuckets(nc, {
        leaseTtlMs: config.leaseTtlMs,
        replicas: config.streamReplicas,
      });
      const store = new CheckpointStore(buckets.checkpoints, {
        maxPayloadBytes: nc.info?.max_payload ?? 1_048_576,
      });
      const specs = await SpecRegistry.open(buckets.specs);
      for (const spec of deps.specs ?? []) {
        const result = await specs.register(spec);
        if (result.change !== "unchanged") {
          logger.info(
            { experiment: spec.experiment, specHash: result.hash },
            `spec ${result.change}`,
          );
        }
      }
      let flags: FlagFileStore | undefined;
      let sync: Started["sync"];
      if (config.flagFile !== null) {
        await ensureFlagFile(config.flagFile);
        flags = new FlagFileStore(config.flagFile);
        if (config.flagSyncPort !== null) {
          const watched = await watchFlagFile(config.flagFile, {
            onRejected: (problems) => {
              metrics.flagFileRejected.inc();
              logger.warn(
                { flagFile: config.flagFile, problems },
                "flag file version rejected: the flagd.sync.v1 endpoint keeps serving the last valid one",
              );
            },
          });
          try {
            const server = await serveFlagSync({
              source: watched,
              host: config.flagSyncHost,
              port: config.flagSyncPort,
            });
            sync = { watched, server };
            logger.info(
              { address: server.address, flagFile: config.flagFile },
              "flag sync serving",
            );
          } catch (error) {
            watched.close();
            throw error;
          }
        }
      }
      const leases = new LeaseManager({
        kv: buckets.leases,
        replicaId: config.replicaId,
        incarnation,
        now,
      });
      const coordinator = new Coordinator({
        js,
        jsm,
        store,
        specs,
        leases,
        metrics,
        logger,
        config,
        now,
        ...(flags === undefined ? {} : { promotion: { nc, flags, status: promotionStatus } }),
      });
      started = { js, jsm, buckets, store, specs, leases, coordinator, flags, sync };
      await coordinator.start();
      status = "ok";
      logger.info({ replica: config.replicaId, incarnation }, "collector started");
    },
    round: () => need().coordinator.round(),
    held: () => (started === undefined ? [] : [...started.coordinator.partitions.keys()]),
    flagSyncAddress: () => started?.sync?.server.address ?? null,
    tick: async (experiment: string) => {
      await need().coordinator.advancer(experiment)?.tick();
    },
    async close() {
      if (status === "closed") return;
      const s = started;
      status = "closed";
      (statuses as { stop?: () => void }).stop?.();
      await watching;
      if (s === undefined) return;
      await s.coordinator.close();
      await s.specs.close();
      if (s.sync !== undefined) {
        await s.sync.server.close();
        s.sync.watched.close();
      }
      logger.info({ replica: config.replicaId }, "collector closed");
    },
  };
}
