import { randomBytes } from "node:crypto";
import type { RequestListener } from "node:http";
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ExperimentSpec } from "@umbra/protocol";
import { type Logger, pino } from "pino";
import { CheckpointStore } from "./checkpoint/checkpoint-store.ts";
import { type CollectorBuckets, openBuckets } from "./checkpoint/open-buckets.ts";
import { CollectorError, CollectorErrorCode } from "./collector-error.ts";
import type { CollectorService, HealthStatus } from "./collector-service.ts";
import type { CollectorConfig } from "./config.ts";
import { createHttpApi } from "./http/http-api.ts";
import { ensureStreams } from "./ingest/ensure-streams.ts";
import { type CollectorMetrics, createCollectorMetrics } from "./metrics/collector-metrics.ts";
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
    }),
    metricsText: async () => {
      await started?.coordinator.refreshPending();
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
      });
      started = { js, jsm, buckets, store, specs, leases, coordinator };
      await coordinator.start();
      status = "ok";
      logger.info({ replica: config.replicaId, incarnation }, "collector started");
    },
    round: () => need().coordinator.round(),
    held: () => (started === undefined ? [] : [...started.coordinator.partitions.keys()]),
    async close() {
      if (status === "closed") return;
      const s = started;
      status = "closed";
      (statuses as { stop?: () => void }).stop?.();
      await watching;
      if (s === undefined) return;
      await s.coordinator.close();
      await s.specs.close();
      logger.info({ replica: config.replicaId }, "collector closed");
    },
  };
}
