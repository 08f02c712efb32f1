import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { isSubjectToken } from "@umbra/protocol";
import type { Logger } from "pino";
import type { CheckpointStore } from "../checkpoint/checkpoint-store.ts";
import type { CollectorConfig } from "../config.ts";
import { INGEST_KINDS, IngestKinds } from "../ingest/ensure-streams.ts";
import { ExperimentPartition } from "../ingest/experiment-partition.ts";
import type { CollectorMetrics } from "../metrics/collector-metrics.ts";
import { Advancer } from "../promotion/advancer.ts";
import { serveControl } from "../promotion/control-channel.ts";
import { DecisionLog } from "../promotion/decision-log.ts";
import type { FlagFileStore } from "../promotion/flag-file-store.ts";
import type { SpecRegistry } from "../specs/spec-registry.ts";
import type { ExperimentStateContext } from "../state/experiment-state.ts";
import type { LeaseManager } from "./lease-manager.ts";

/** What a {@link Coordinator} needs. */
export interface CoordinatorDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly store: CheckpointStore;
  readonly specs: SpecRegistry;
  readonly leases: LeaseManager;
  readonly metrics: CollectorMetrics;
  readonly logger: Logger;
  readonly config: CollectorConfig;
  readonly now: () => number;
  /** Set when the collector promotes (it has a flag file): each held experiment gets an advancer. */
  readonly promotion?: PromotionDeps;
}

/** What the advancers need beyond the coordinator's own dependencies. */
export interface PromotionDeps {
  readonly nc: NatsConnection;
  readonly flags: FlagFileStore;
  /** The status a command's reply carries, built after the command is applied. */
  readonly status: (experiment: string) => Promise<unknown>;
}

interface RunningAdvancer {
  readonly advancer: Advancer;
  readonly control: Subscription;
}

/**
 * Shares experiments between collector replicas: discovers experiments (stream subjects and
 * registered specs), takes per-experiment leases up to a fair share (experiments ÷ live
 * replicas), runs one {@link ExperimentPartition} per held lease, renews leases, and hands an
 * experiment back when a new replica makes the share smaller. One loop does all of it, so
 * partitions are never started and stopped concurrently.
 */
export class Coordinator {
  readonly #deps: CoordinatorDeps;
  readonly #partitions = new Map<string, ExperimentPartition>();
  readonly #advancers = new Map<string, RunningAdvancer>();
  readonly #failed = new Set<string>();
  #known = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #lastDiscoveryMs = Number.NEGATIVE_INFINITY;

  constructor(deps: CoordinatorDeps) {
    this.#deps = deps;
  }

  /** The partitions this replica runs now, by experiment. */
  get partitions(): ReadonlyMap<string, ExperimentPartition> {
    return this.#partitions;
  }

  /** The advancers this replica runs now, by experiment (one per partition when promoting). */
  advancer(experiment: string): Advancer | undefined {
    return this.#advancers.get(experiment)?.advancer;
  }

  /** Experiments seen in the streams or the spec registry at the last discovery. */
  get known(): ReadonlySet<string> {
    return this.#known;
  }

  /** Runs the first round (announce, discover, acquire) and schedules the next ones. */
  async start(): Promise<void> {
    await this.#deps.leases.announce();
    await this.round();
    this.#schedule();
  }

  /**
   * One round: renew leases (stopping what was lost), then, when due, discover experiments and
   * rebalance. Exposed so tests can drive rounds without waiting for the timer.
   */
  round(options: { readonly discover?: boolean } = {}): Promise<void> {
    const run = (this.#running ?? Promise.resolve()).then(() =>
      this.#round(options.discover ?? true),
    );
    this.#running = run.catch((error: unknown) => {
      this.#deps.logger.warn({ err: error }, "coordinator round failed; retrying next round");
    });
    return run;
  }

  /** Stops every partition with a final checkpoint, releases the leases and withdraws presence. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running;
    for (const experiment of [...this.#partitions.keys()]) await this.#release(experiment);
    await this.#deps.leases.withdraw().catch(() => undefined);
  }

  /** Refreshes the consumer-pending gauges of every partition. */
  async refreshPending(): Promise<void> {
    await Promise.all([...this.#partitions.values()].map((p) => p.refreshPending()));
  }

  #schedule(): void {
    if (this.#closed) return;
    const periodMs = Math.min(
      this.#deps.config.discoveryIntervalMs,
      this.#deps.config.leaseTtlMs / 3,
    );
    this.#timer = setTimeout(() => {
      // A failed round is logged by round(); the schedule goes on regardless.
      this.round({ discover: false })
        .catch(() => undefined)
        .finally(() => this.#schedule());
    }, periodMs);
  }

  async #round(forceDiscovery: boolean): Promise<void> {
    if (this.#closed) return;
    const { leases, logger, metrics, config } = this.#deps;
    for (const experiment of this.#failed) {
      this.#failed.delete(experiment);
      await this.#drop(experiment);
    }
    const lost = await leases.renew();
    for (const experiment of lost) {
      logger.warn({ experiment }, "lease lost; stopping the partition without a checkpoint");
      metrics.leasesLost.inc();
      await this.#drop(experiment);
    }
    await leases.announce();
    if (!forceDiscovery && this.#deps.now() - this.#lastDiscoveryMs < config.discoveryIntervalMs)
      return;
    this.#lastDiscoveryMs = this.#deps.now();
    this.#known = await this.#discover();
    const replicas = await leases.aliveReplicas();
    logger.debug({ known: [...this.#known], replicas }, "discovery");
    const share = Math.min(config.maxExperiments, Math.ceil(this.#known.size / replicas));
    if (this.#partitions.size > share) {
      // Hand back one experiment per round, so replicas converge without a thundering herd.
      const last = [...this.#partitions.keys()].at(-1);
      if (last !== undefined) {
        logger.info({ experiment: last, share, replicas }, "releasing an experiment to rebalance");
        await this.#release(last);
      }
    }
    metrics.experimentsKnown.set(this.#known.size);
    for (const experiment of [...this.#known].sort()) {
      if (this.#closed || this.#partitions.size >= share) break;
      if (this.#partitions.has(experiment)) continue;
      const revision = await leases.acquire(experiment);
      if (revision === undefined) continue;
      await this.#startPartition(experiment);
    }
    metrics.experimentsOwned.set(this.#partitions.size);
  }

  async #startPartition(experiment: string): Promise<void> {
    const { config, metrics, logger, specs } = this.#deps;
    const stateContext: ExperimentStateContext = {
      experiment,
      spec: () => specs.get(experiment),
      dedupeIds: config.dedupeIds,
      pendingLabels: config.pendingLabels,
      onDrop: (what, count) => metrics.dropped.inc({ what }, count),
    };
    const partition = new ExperimentPartition({
      experiment,
      replicaId: config.replicaId,
      js: this.#deps.js,
      jsm: this.#deps.jsm,
      store: this.#deps.store,
      metrics,
      logger,
      now: this.#deps.now,
      stateContext,
      checkpointIntervalMs: config.checkpointIntervalMs,
      checkpointMaxPending: config.checkpointMaxPending,
      ackWaitMs: config.ackWaitMs,
      leaseTtlMs: config.leaseTtlMs,
      onFailed: (name) => {
        this.#failed.add(name);
        this.round({ discover: false }).catch(() => undefined);
      },
    });
    this.#partitions.set(experiment, partition);
    try {
      await partition.start();
      await this.#startAdvancer(experiment, partition);
    } catch (error) {
      logger.warn({ experiment, err: error }, "partition failed to start; releasing its lease");
      this.#partitions.delete(experiment);
      await this.#stopAdvancer(experiment);
      await partition.stop({ checkpoint: false });
      await this.#deps.leases.release(experiment).catch(() => undefined);
    }
  }

  async #startAdvancer(experiment: string, partition: ExperimentPartition): Promise<void> {
    const promotion = this.#deps.promotion;
    if (promotion === undefined) return;
    const { config, metrics, logger, specs, leases, js, jsm } = this.#deps;
    const advancer = new Advancer({
      experiment,
      partition,
      specs,
      flags: promotion.flags,
      log: new DecisionLog({ js, jsm, experiment }),
      fence: () => leases.confirm(experiment),
      metrics,
      logger,
      now: this.#deps.now,
      tickMs: config.decisionTickMs,
      sampleMs: config.decisionSampleMs,
      settleMs: config.flagSettleMs,
      policy: config.decisionPolicy,
      onFailed: (name) => {
        this.#failed.add(name);
        this.round({ discover: false }).catch(() => undefined);
      },
    });
    await advancer.start();
    const control = serveControl(
      promotion.nc,
      experiment,
      (command) => advancer.command(command),
      () => promotion.status(experiment),
    );
    this.#advancers.set(experiment, { advancer, control });
  }

  async #stopAdvancer(experiment: string): Promise<void> {
    const running = this.#advancers.get(experiment);
    if (running === undefined) return;
    this.#advancers.delete(experiment);
    running.control.unsubscribe();
    await running.advancer.stop();
  }

  /** Stops a partition whose lease is gone, without checkpointing. */
  async #drop(experiment: string): Promise<void> {
    const partition = this.#partitions.get(experiment);
    this.#partitions.delete(experiment);
    this.#deps.leases.forget(experiment);
    await this.#stopAdvancer(experiment);
    await partition?.stop({ checkpoint: false });
  }

  /** Stops a partition with a final checkpoint and gives its lease back. */
  async #release(experiment: string): Promise<void> {
    const partition = this.#partitions.get(experiment);
    this.#partitions.delete(experiment);
    // The advancer first: the final checkpoint then holds its last decision.
    await this.#stopAdvancer(experiment);
    await partition?.stop({ checkpoint: true });
    await this.#deps.leases.release(experiment).catch(() => undefined);
  }

  async #discover(): Promise<Set<string>> {
    const found = new Set<string>(this.#deps.specs.list().map((s) => s.spec.experiment));
    for (const kind of INGEST_KINDS) {
      const info = await this.#deps.jsm.streams.info(IngestKinds[kind].stream, {
        subjects_filter: IngestKinds[kind].subjects,
      });
      for (const subject of Object.keys(info.state.subjects ?? {})) {
        const experiment = subject.split(".")[2];
        if (isSubjectToken(experiment)) found.add(experiment);
      }
    }
    return found;
  }
}
