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
  };
}
