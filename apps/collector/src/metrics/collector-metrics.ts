import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The collector's Prometheus metrics, in a registry of their own (never the global one). */
export interface CollectorMetrics {
  readonly registry: Registry;
  /** Records applied to an aggregate, by kind (`pairs`, `exposures`, `labels`). */
  readonly ingested: Counter<"kind">;
  /** Records dead-lettered, by kind and reason code (`invalid_argument`, `unsupported_version`). */
  readonly deadLettered: Counter<"kind" | "reason">;
  /** Messages skipped as already applied: by stream sequence or by message id. */
  readonly duplicates: Counter<"kind" | "via">;
  /** Items a bounded structure let go, by what (`dedupe_ids`, `pending_labels`, `examples`…). */
  readonly dropped: Counter<"what">;
  /** Checkpoint writes by result (`ok`, `conflict`, `error`). */
  readonly checkpoints: Counter<"result">;
  /** Duration of checkpoint writes (serialize, compress, KV write), seconds. */
  readonly checkpointSeconds: Histogram<never>;
  /** Messages applied but not yet covered by a checkpoint, per experiment. */
  readonly checkpointLag: Gauge<"experiment">;
  /** Messages the experiment's consumers have not received yet, per experiment and kind. */
  readonly consumerPending: Gauge<"experiment" | "kind">;
  /** Experiments this replica holds the lease of. */
  readonly experimentsOwned: Gauge<never>;
  /** Experiments discovered (streams and specs); the sum of `experimentsOwned` over replicas should match. */
  readonly experimentsKnown: Gauge<never>;
  /** Leases lost to another replica or to expiry. */
  readonly leasesLost: Counter<never>;
  /** Advancer ticks by result (`evaluated`, `paused`, `error`). */
  readonly advancerTicks: Counter<"result">;
  /** Decision records published to `umbra.decisions.<experiment>`, by outcome. */
  readonly decisionsPublished: Counter<"outcome">;
  /** Evaluations that changed nothing and were left out of the decision log (sampling). */
  readonly decisionsSampledOut: Counter<never>;
  /** Writes of the flag file by result (`ok`, `conflict`, `invalid`, `fenced`, `error`). */
  readonly flagWrites: Counter<"result">;
  /** Edits of experiment flags made by someone else than the collector. */
  readonly flagHumanEdits: Counter<never>;
  /** Versions of the flag file the flagd.sync.v1 endpoint refused (invalid); the last good one stays served. */
  readonly flagFileRejected: Counter<never>;
  /** SDKs and flagd daemons following the flag file over flagd.sync.v1 right now. */
  readonly flagSyncStreams: Gauge<never>;
}

/** Creates the collector's metrics in a fresh registry, with Node's default process metrics. */
export function createCollectorMetrics(replicaId: string): CollectorMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ replica: replicaId });
  collectDefaultMetrics({ register: registry, prefix: "umbra_collector_" });
  const registers = [registry];
  return {
    registry,
    ingested: new Counter({
      name: "umbra_collector_ingested_total",
      help: "Records applied to an aggregate, by kind.",
      labelNames: ["kind"],
      registers,
    }),
    deadLettered: new Counter({
      name: "umbra_collector_dead_lettered_total",
      help: "Records sent to umbra.dlq.<kind>, by kind and reason code.",
      labelNames: ["kind", "reason"],
      registers,
    }),
    duplicates: new Counter({
      name: "umbra_collector_duplicates_total",
      help: "Messages skipped as already applied, by kind and how they were recognised (seq, msg_id).",
      labelNames: ["kind", "via"],
      registers,
    }),
    dropped: new Counter({
      name: "umbra_collector_dropped_total",
      help: "Items a bounded structure let go, by what.",
      labelNames: ["what"],
      registers,
    }),
    checkpoints: new Counter({
      name: "umbra_collector_checkpoints_total",
      help: "Checkpoint writes by result (ok, conflict, error).",
      labelNames: ["result"],
      registers,
    }),
    checkpointSeconds: new Histogram({
      name: "umbra_collector_checkpoint_seconds",
      help: "Duration of checkpoint writes (serialize, compress, KV write).",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    checkpointLag: new Gauge({
      name: "umbra_collector_checkpoint_lag_messages",
      help: "Messages applied but not yet covered by a checkpoint, per experiment.",
      labelNames: ["experiment"],
      registers,
    }),
    consumerPending: new Gauge({
      name: "umbra_collector_consumer_pending_messages",
      help: "Messages the experiment's consumers have not received yet, per experiment and kind.",
      labelNames: ["experiment", "kind"],
      registers,
    }),
    experimentsOwned: new Gauge({
      name: "umbra_collector_experiments_owned",
      help: "Experiments this replica holds the lease of.",
      registers,
    }),
    experimentsKnown: new Gauge({
      name: "umbra_collector_experiments_known",
      help: "Experiments discovered in the streams and the spec registry; unowned = known - sum(owned).",
      registers,
    }),
    leasesLost: new Counter({
      name: "umbra_collector_leases_lost_total",
      help: "Leases lost to another replica or to expiry.",
      registers,
    }),
    advancerTicks: new Counter({
      name: "umbra_collector_advancer_ticks_total",
      help: "Promotion evaluations by result (evaluated, paused, error).",
      labelNames: ["result"],
      registers,
    }),
    decisionsPublished: new Counter({
      name: "umbra_collector_decisions_published_total",
      help: "Decision records published to umbra.decisions.<experiment>, by outcome.",
      labelNames: ["outcome"],
      registers,
    }),
    decisionsSampledOut: new Counter({
      name: "umbra_collector_decisions_sampled_out_total",
      help: "Evaluations that changed nothing and were left out of the decision log.",
      registers,
    }),
    flagWrites: new Counter({
      name: "umbra_collector_flag_writes_total",
      help: "Writes of the flag file by result (ok, conflict, invalid, fenced, error).",
      labelNames: ["result"],
      registers,
    }),
    flagHumanEdits: new Counter({
      name: "umbra_collector_flag_human_edits_total",
      help: "Edits of experiment flags by someone else than the collector.",
      registers,
    }),
    flagFileRejected: new Counter({
      name: "umbra_collector_flag_file_rejected_total",
      help: "Versions of the flag file refused by the flagd.sync.v1 endpoint (invalid); the last good one stays served.",
      registers,
    }),
    flagSyncStreams: new Gauge({
      name: "umbra_collector_flag_sync_streams",
      help: "Open flagd.sync.v1 SyncFlags streams.",
      registers,
    }),
  };
}
