import { randomBytes } from "node:crypto";
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  ReplayPolicy,
} from "@nats-io/jetstream";
import { decodeExposure, decodeLabel, decodePair, Subjects, UmbraError } from "@umbra/protocol";
import type { Logger } from "pino";
import type { CheckpointStore } from "../checkpoint/checkpoint-store.ts";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";
import type { CollectorMetrics } from "../metrics/collector-metrics.ts";
import { ExperimentState, type ExperimentStateContext } from "../state/experiment-state.ts";
import { publishDeadLetter } from "./dead-letter.ts";
import { INGEST_KINDS, type IngestKind, IngestKinds } from "./ensure-streams.ts";

/** What an {@link ExperimentPartition} needs; the coordinator builds it. */
export interface ExperimentPartitionDeps {
  readonly experiment: string;
  readonly replicaId: string;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly store: CheckpointStore;
  readonly metrics: CollectorMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** What the experiment's state needs: its spec, its bounds. */
  readonly stateContext: ExperimentStateContext;
  readonly checkpointIntervalMs: number;
  readonly checkpointMaxPending: number;
  readonly ackWaitMs: number;
  readonly leaseTtlMs: number;
  /** Called once when the partition stops on its own (lost checkpoint CAS, fatal error). */
  readonly onFailed: (experiment: string, error: CollectorError) => void;
}

/** The subject filter of one experiment in one ingest stream. */
export function experimentFilter(kind: IngestKind, experiment: string): string {
  switch (kind) {
    case "pairs":
      return `umbra.pairs.${experiment}.>`;
    case "exposures":
      return Subjects.exposures(experiment);
    case "labels":
      return Subjects.labels(experiment);
  }
}

const FETCH_BATCH = 1_000;
/**
 * Dead letters in flight per partition. Beyond it, messages wait in order in the backlog (itself
 * bounded by the consumer's max_ack_pending): a flood of bad records must not queue thousands
 * of publishes ahead of the lease renewals and checkpoints on the same connection.
 */
const MAX_DEAD_LETTERS_IN_FLIGHT = 64;
const NS_PER_MS = 1_000_000;

/**
 * One experiment's ingest on the replica that holds its lease: three durable consumers (pairs,
 * exposures, labels) filtered on the experiment, positioned right after the checkpoint; each
 * message applied once to the experiment's state, or dead-lettered; a checkpoint (stream
 * positions + state, compare-and-swap) every interval or every N messages; acks only after the
 * checkpoint that covers them.
 *
 * Exactly once: a message at or below the applied position of its stream is skipped (replays,
 * redeliveries); a takeover re-creates the consumers at the checkpoint's position, so what a
 * crashed holder applied but never checkpointed is applied again, once.
 */
export class ExperimentPartition {
  readonly #deps: ExperimentPartitionDeps;
  readonly #gen = randomBytes(4).toString("hex");
  readonly #abort = new AbortController();
  #state: ExperimentState | undefined;
  #revision: number | undefined;
  #consumers: { kind: IngestKind; name: string; messages: ConsumerMessages }[] = [];
  #unacked: JsMsg[] = [];
  #deadLetters: Promise<void>[] = [];
  #deadLettersInFlight = 0;
  #backlog: { readonly kind: IngestKind; readonly m: JsMsg }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #checkpointing: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #lastCheckpointMs = 0;
  #startedMs = 0;
  /** When the newest applied pair was stored in its stream (the server's clock), ms. */
  #lastPairStoredMs: number | null = null;
  // Label children resolved once: prom-client hashes the label object on every inc() otherwise.
  readonly #ingested: Record<IngestKind, { inc(): void }>;
  readonly #duplicateSeq: Record<IngestKind, { inc(): void }>;
  readonly #duplicateId: Record<IngestKind, { inc(): void }>;

  constructor(deps: ExperimentPartitionDeps) {
    this.#deps = deps;
    const by = (f: (kind: IngestKind) => { inc(): void }) =>
      ({ pairs: f("pairs"), exposures: f("exposures"), labels: f("labels") }) as Record<
        IngestKind,
        { inc(): void }
      >;
    this.#ingested = by((kind) => deps.metrics.ingested.labels({ kind }));
    this.#duplicateSeq = by((kind) => deps.metrics.duplicates.labels({ kind, via: "seq" }));
    this.#duplicateId = by((kind) => deps.metrics.duplicates.labels({ kind, via: "msg_id" }));
  }

  /** The experiment this partition aggregates. */
  get experiment(): string {
    return this.#deps.experiment;
  }

  /** The live state (applied, possibly not yet checkpointed); `undefined` before `start()`. */
  get state(): ExperimentState | undefined {
    return this.#state;
  }

  /** Messages applied since the last checkpoint. */
  get lag(): number {
    return this.#unacked.length;
  }

  /** Loads the checkpoint, re-creates the consumers at its position and starts consuming. */
  async start(): Promise<void> {
    const { experiment, store, stateContext, logger } = this.#deps;
    const stored = await store.read(experiment);
    this.#revision = stored?.revision;
    this.#state =
      stored === undefined
        ? ExperimentState.create(stateContext)
        : ExperimentState.fromJSON(stored.json, stateContext);
    await store.purgeOrphans(experiment);
    const from = { ...this.#state.lastSeq };
    for (const kind of INGEST_KINDS) {
      const name = await this.#recreateConsumer(kind);
      const consumer = await this.#deps.js.consumers.get(IngestKinds[kind].stream, name);
      const messages = await consumer.consume({
        max_messages: Math.min(FETCH_BATCH, this.#deps.checkpointMaxPending * 2),
        callback: (m) => this.#onMessage(kind, m),
      });
      this.#consumers.push({ kind, name, messages });
    }
    this.#lastCheckpointMs = this.#deps.now();
    this.#startedMs = this.#deps.now();
    this.#timer = setInterval(
      () => this.#tick(),
      Math.max(10, this.#deps.checkpointIntervalMs / 4),
    );
    logger.info({ experiment, from, revision: this.#revision ?? 0 }, "partition started");
  }

  /**
   * Stops consuming. With `checkpoint: true` (release, shutdown) it first writes a final
   * checkpoint and acks what it covers; otherwise (lease lost) it drops the state unwritten.
   */
  async stop(options: { readonly checkpoint: boolean }): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const c of this.#consumers) c.messages.stop();
    await Promise.all(this.#consumers.map((c) => c.messages.closed().catch(() => undefined)));
    if (options.checkpoint) {
      try {
        await this.#checkpointing;
        await this.#writeCheckpoint();
      } catch (error) {
        this.#deps.logger.warn(
          { experiment: this.experiment, err: error },
          "final checkpoint failed; the next holder replays from the previous one",
        );
      }
    }
    this.#abort.abort();
    await Promise.allSettled(this.#deadLetters);
    this.#deps.metrics.checkpointLag.remove({ experiment: this.experiment });
    for (const kind of INGEST_KINDS) {
      this.#deps.metrics.consumerPending.remove({ experiment: this.experiment, kind });
    }
    if (options.checkpoint) {
      for (const c of this.#consumers) {
        await this.#deps.jsm.consumers
          .delete(IngestKinds[c.kind].stream, c.name)
          .catch(() => undefined);
      }
    }
  }

  /** Whether the partition was stopped (lease lost, released, failed). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Writes a checkpoint now (after the one in flight, if any) and resolves once it is stored:
   * what the state holds at the call is durable. Rejects with a `conflict` CollectorError when
   * another replica moved the checkpoint (this one no longer holds the experiment; the partition
   * fails as with any lost checkpoint), and with the store's error otherwise.
   */
  async commit(): Promise<void> {
    if (this.#stopped || this.#state === undefined) {
      throw new CollectorError(
        CollectorErrorCode.Cancelled,
        `partition of ${this.experiment} is stopped`,
      );
    }
    this.#state.dirty = true;
    while (this.#checkpointing !== undefined) await this.#checkpointing;
    const run = this.#writeCheckpoint();
    this.#checkpointing = run
      .catch((error: unknown) => this.#onCheckpointError(error))
      .finally(() => {
        this.#checkpointing = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.#requestCheckpoint();
        }
      });
    await run;
  }

  /**
   * How far the applied state trails the pair stream, in ms: 0 when nothing is waiting,
   * otherwise the age of the newest applied pair (or of the partition, before any).
   */
  async collectorLagMs(nowMs: number): Promise<number> {
    const pairs = this.#consumers.find((c) => c.kind === "pairs");
    let pending = this.#backlog.length;
    if (pairs !== undefined) {
      const info = await this.#deps.jsm.consumers.info(IngestKinds.pairs.stream, pairs.name);
      pending += info.num_pending;
    }
    if (pending === 0) return 0;
    return Math.max(0, nowMs - (this.#lastPairStoredMs ?? this.#startedMs));
  }

  /** Refreshes the consumer-pending gauge from the server. */
  async refreshPending(): Promise<void> {
    for (const c of this.#consumers) {
      try {
        const info = await this.#deps.jsm.consumers.info(IngestKinds[c.kind].stream, c.name);
        this.#deps.metrics.consumerPending.set(
          { experiment: this.experiment, kind: c.kind },
          info.num_pending,
        );
      } catch {
        // A missing consumer is re-created on the next takeover; the gauge keeps its last value.
      }
    }
  }

  async #recreateConsumer(kind: IngestKind): Promise<string> {
    const { jsm, experiment } = this.#deps;
    const stream = IngestKinds[kind].stream;
    const filter = experimentFilter(kind, experiment);
    // Consumers of earlier holders of this experiment: a stale holder still pulling from one
    // could take messages away from ours, so they go before ours is made.
    const stale = (await jsm.consumers.list(stream).next()).filter(
      (c) => c.config.filter_subject === filter && c.name.startsWith("umbra-"),
    );
    for (const c of stale) await jsm.consumers.delete(stream, c.name).catch(() => undefined);
    const lastSeq = this.#state?.lastSeq[kind] ?? 0;
    const name = `umbra-${experiment}-${kind}-${this.#gen}`;
    await jsm.consumers.add(stream, {
      durable_name: name,
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      ...(lastSeq === 0
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastSeq + 1 }),
      replay_policy: ReplayPolicy.Instant,
      ack_wait: this.#deps.ackWaitMs * NS_PER_MS,
      max_ack_pending: this.#deps.checkpointMaxPending * 2,
      inactive_threshold: Math.max(60_000, this.#deps.leaseTtlMs * 3) * NS_PER_MS,
    });
    return name;
  }

  #onMessage(kind: IngestKind, m: JsMsg): void {
    if (this.#backlog.length > 0 || this.#deadLettersInFlight >= MAX_DEAD_LETTERS_IN_FLIGHT) {
      this.#backlog.push({ kind, m });
      return;
    }
    this.#apply(kind, m);
  }

  #drainBacklog(): void {
    while (this.#backlog.length > 0 && this.#deadLettersInFlight < MAX_DEAD_LETTERS_IN_FLIGHT) {
      const next = this.#backlog.shift();
      if (next !== undefined) this.#apply(next.kind, next.m);
    }
  }

  #apply(kind: IngestKind, m: JsMsg): void {
    const state = this.#state;
    if (state === undefined || this.#stopped) return;
    const seq = m.info.streamSequence;
    const { metrics } = this.#deps;
    if (seq <= state.lastSeq[kind]) {
      this.#duplicateSeq[kind].inc();
      this.#unacked.push(m);
      return;
    }
    try {
      let applied: boolean;
      switch (kind) {
        case "pairs":
          applied = state.applyPair(decodePair(m.data), subjectVariant(m.subject));
          this.#lastPairStoredMs = Math.floor(m.info.timestampNanos / NS_PER_MS);
          break;
        case "exposures":
          applied = state.applyExposure(decodeExposure(m.data));
          break;
        case "labels":
          applied = state.applyLabel(decodeLabel(m.data));
          break;
      }
      if (applied) this.#ingested[kind].inc();
      else this.#duplicateId[kind].inc();
    } catch (error) {
      const reason = toDecodeError(error);
      state.countDeadLetter(kind, reason.code);
      metrics.deadLettered.inc({ kind, reason: reason.code });
      const p = publishDeadLetter(
        this.#deps.js,
        kind,
        { subject: m.subject, stream: IngestKinds[kind].stream, seq, data: m.data },
        reason,
        { signal: this.#abort.signal },
      );
      this.#deadLettersInFlight += 1;
      // Rejections are read when the checkpoint awaits this promise; never left floating.
      p.catch(() => undefined).finally(() => {
        this.#deadLettersInFlight -= 1;
        if (!this.#stopped) this.#drainBacklog();
      });
      this.#deadLetters.push(p);
    }
    state.lastSeq[kind] = seq;
    this.#unacked.push(m);
    if (this.#unacked.length >= this.#deps.checkpointMaxPending) this.#requestCheckpoint();
  }

  #tick(): void {
    this.#deps.metrics.checkpointLag.set({ experiment: this.experiment }, this.#unacked.length);
    if (this.#deps.now() - this.#lastCheckpointMs >= this.#deps.checkpointIntervalMs) {
      this.#requestCheckpoint();
    }
  }

  #requestCheckpoint(): void {
    if (this.#stopped) return;
    if (this.#checkpointing !== undefined) {
      this.#again = true;
      return;
    }
    this.#checkpointing = this.#writeCheckpoint()
      .catch((error: unknown) => this.#onCheckpointError(error))
      .finally(() => {
        this.#checkpointing = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.#requestCheckpoint();
        }
      });
  }

  async #writeCheckpoint(): Promise<void> {
    const state = this.#state;
    if (state === undefined) return;
    this.#lastCheckpointMs = this.#deps.now();
    if (this.#unacked.length === 0 && this.#revision !== undefined && !state.dirty) return;
    // Everything below is the snapshot: taken synchronously, so it holds exactly the messages
    // in `acks` and nothing applied after.
    const json = state.toJSON();
    const acks = this.#unacked;
    const deadLetters = this.#deadLetters;
    this.#unacked = [];
    this.#deadLetters = [];
    state.dirty = false;
    const started = performance.now();
    try {
      // A checkpoint may cover a dead-lettered message only once its dead letter is stored.
      await Promise.all(deadLetters);
      this.#revision = await this.#deps.store.write(
        this.experiment,
        json,
        this.#revision,
        this.#deps.replicaId,
        this.#deps.now(),
      );
    } catch (error) {
      // Not covered: put them back (in order) so the next checkpoint acks them.
      this.#unacked = acks.concat(this.#unacked);
      this.#deadLetters = deadLetters.concat(this.#deadLetters);
      state.dirty = true;
      throw error;
    }
    this.#deps.metrics.checkpointSeconds.observe((performance.now() - started) / 1_000);
    this.#deps.metrics.checkpoints.inc({ result: "ok" });
    for (const m of acks) m.ack();
    this.#deps.metrics.checkpointLag.set({ experiment: this.experiment }, this.#unacked.length);
  }

  #onCheckpointError(error: unknown): void {
    const err = CollectorError.from(error);
    if (err.code === CollectorErrorCode.Conflict) {
      this.#deps.metrics.checkpoints.inc({ result: "conflict" });
      this.#deps.logger.warn(
        { experiment: this.experiment, err },
        "checkpoint conflict: another replica holds this experiment now",
      );
      this.#deps.onFailed(this.experiment, err);
      return;
    }
    this.#deps.metrics.checkpoints.inc({ result: "error" });
    this.#deps.logger.warn({ experiment: this.experiment, err }, "checkpoint failed; will retry");
  }
}

/** The variant token of a pair subject `umbra.pairs.<experiment>.<variant>`. */
function subjectVariant(subject: string): string | undefined {
  // The last token; lastIndexOf instead of split, which allocated an array per message.
  const at = subject.lastIndexOf(".");
  return at < 0 ? undefined : subject.slice(at + 1);
}

function toDecodeError(error: unknown): UmbraError | CollectorError {
  if (error instanceof UmbraError || error instanceof CollectorError) return error;
  return new CollectorError(
    CollectorErrorCode.Internal,
    `applying the record failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}
