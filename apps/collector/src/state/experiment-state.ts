import {
  type ExposureRecord,
  type LabelRecord,
  type PairRecord,
  pairMessageId,
  UmbraError,
} from "@umbra/protocol";
import type { IngestKind } from "../ingest/ensure-streams.ts";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import { LabelJoin, type LabelJoinJSON } from "./label-join.ts";
import { PairAggregate } from "./pair-aggregate.ts";
import { RecentIds } from "./recent-ids.ts";

/** What an {@link ExperimentState} needs from outside. */
export interface ExperimentStateContext {
  readonly experiment: string;
  /** The experiment's current spec, if one is registered. */
  readonly spec: () => RegisteredSpec | undefined;
  /** Pair message ids remembered for late-duplicate dedupe. */
  readonly dedupeIds: number;
  /** Pairs kept waiting for their label. */
  readonly pendingLabels: number;
  /** Counts what a bounded structure let go (`dedupe_ids`, `pending_labels`, `exposure_instances`…). */
  readonly onDrop: (what: string, count: number) => void;
}

/** Exposure sequence bookkeeping of one SDK instance. */
interface InstanceSeq {
  lastSeq: number;
  /** Exposure windows that never arrived (gaps in `seq`): lost evidence. */
  missing: number;
}

/** Counters of one experiment, exactly once across crashes because they live in its checkpoint. */
export interface ExperimentCounts {
  pairs: number;
  exposures: number;
  labels: number;
  /** Pairs recorded under another spec version than the registered one (kept apart, not aggregated). */
  otherSpecPairs: number;
  /** Records skipped as duplicates (same message id / exposure seq / label request). */
  duplicates: Record<IngestKind, number>;
  /** Dead-lettered records, by kind and reason code. */
  deadLetters: Record<IngestKind, Record<string, number>>;
  /** Exposure windows missing from some SDK instance's sequence. */
  missingExposureWindows: number;
}

interface StateJSON {
  readonly format: 1;
  readonly experiment: string;
  readonly lastSeq: Record<IngestKind, number>;
  readonly counts: ExperimentCounts;
  readonly recentIds: string[];
  readonly instances: Record<string, InstanceSeq>;
  readonly aggregate: unknown;
  readonly labels: LabelJoinJSON;
}

/** SDK instances whose exposure sequence is tracked per experiment. */
const MAX_INSTANCES = 10_000;

/**
 * Everything one experiment's checkpoint holds: the stream positions, the aggregate built with
 * `@umbra/compare`, the pending label joins, the recent message ids, and the counters. Applying a
 * record is synchronous, so a snapshot ({@link ExperimentState.toJSON}) always matches the
 * positions it carries.
 */
export class ExperimentState {
  /** Highest stream sequence applied (or dead-lettered) per ingest stream. */
  readonly lastSeq: Record<IngestKind, number>;
  /** Whether something changed since the last snapshot (a checkpoint is worth writing). */
  dirty = false;
  readonly #ctx: ExperimentStateContext;
  readonly #counts: ExperimentCounts;
  readonly #recent: RecentIds;
  readonly #instances: Map<string, InstanceSeq>;
  readonly #aggregate: PairAggregate;
  readonly #labels: LabelJoin;

  private constructor(ctx: ExperimentStateContext, json: StateJSON | undefined) {
    this.#ctx = ctx;
    this.lastSeq = { ...(json?.lastSeq ?? { pairs: 0, exposures: 0, labels: 0 }) };
    this.#counts = json?.counts ?? {
      pairs: 0,
      exposures: 0,
      labels: 0,
      otherSpecPairs: 0,
      duplicates: { pairs: 0, exposures: 0, labels: 0 },
      deadLetters: { pairs: {}, exposures: {}, labels: {} },
      missingExposureWindows: 0,
    };
    this.#recent = new RecentIds(ctx.dedupeIds, json?.recentIds ?? []);
    this.#instances = new Map(Object.entries(json?.instances ?? {}));
    this.#aggregate =
      json === undefined
        ? PairAggregate.create(ctx.experiment)
        : PairAggregate.fromJSON(ctx.experiment, json.aggregate);
    this.#labels = new LabelJoin(ctx.pendingLabels, json?.labels);
  }

  /** A fresh state: nothing applied yet. */
  static create(ctx: ExperimentStateContext): ExperimentState {
    return new ExperimentState(ctx, undefined);
  }

  /** Restores a state from a checkpoint written by {@link ExperimentState.toJSON}. */
  static fromJSON(json: string, ctx: ExperimentStateContext): ExperimentState {
    const parsed = JSON.parse(json) as StateJSON;
    if (parsed.format !== 1 || parsed.experiment !== ctx.experiment) {
      throw new UmbraError(
        "internal",
        `checkpoint of ${ctx.experiment}: format ${String(parsed.format)} of ${parsed.experiment} is not readable here`,
      );
    }
    return new ExperimentState(ctx, parsed);
  }

  /** The experiment's counters. */
  get counts(): Readonly<ExperimentCounts> {
    return this.#counts;
  }

  /** The aggregate of compared pairs. */
  get aggregate(): PairAggregate {
    return this.#aggregate;
  }

  /** The label join's bookkeeping (pending pairs and labels, joined, expired, dropped). */
  get labels(): LabelJoin {
    return this.#labels;
  }

  /**
   * Applies one decoded pair; returns `false` if it is a duplicate (its message id was seen).
   * Throws an `invalid_argument` UmbraError if the record contradicts the subject it came on.
   */
  applyPair(record: PairRecord, subjectVariant: string | undefined): boolean {
    if (record.experiment !== this.#ctx.experiment) {
      throw UmbraError.invalid(
        "/experiment",
        `must match the subject's experiment ${this.#ctx.experiment} (got ${record.experiment})`,
      );
    }
    if (subjectVariant !== undefined && record.variant !== subjectVariant) {
      throw UmbraError.invalid(
        "/variant",
        `must match the subject's variant ${subjectVariant} (got ${record.variant})`,
      );
    }
    const evictedBefore = this.#recent.evicted;
    if (!this.#recent.add(pairMessageId(record.requestId, record.variant))) {
      this.#counts.duplicates.pairs += 1;
      this.dirty = true;
      return false;
    }
    if (this.#recent.evicted > evictedBefore) this.#ctx.onDrop("dedupe_ids", 1);
    this.dirty = true;
    const spec = this.#ctx.spec();
    if (spec !== undefined && record.specHash !== undefined && record.specHash !== spec.hash) {
      this.#counts.otherSpecPairs += 1;
      return true;
    }
    this.#counts.pairs += 1;
    this.#aggregate.addPair(record, spec);
    const dropped = this.#labels.addPair(record, this.#aggregate, spec);
    if (dropped > 0) this.#ctx.onDrop("pending_labels", dropped);
    return true;
  }

  /** Applies one exposure window; returns `false` if that (instance, seq) was already applied. */
  applyExposure(record: ExposureRecord): boolean {
    if (record.experiment !== this.#ctx.experiment) {
      throw UmbraError.invalid(
        "/experiment",
        `must match the subject's experiment ${this.#ctx.experiment} (got ${record.experiment})`,
      );
    }
    this.dirty = true;
    let seqs = this.#instances.get(record.sdkInstanceId);
    if (seqs !== undefined && record.seq <= seqs.lastSeq) {
      this.#counts.duplicates.exposures += 1;
      return false;
    }
    if (seqs === undefined) {
      if (this.#instances.size >= MAX_INSTANCES) {
        const oldest = this.#instances.keys().next().value as string;
        this.#instances.delete(oldest);
        this.#ctx.onDrop("exposure_instances", 1);
      }
      seqs = { lastSeq: 0, missing: 0 };
      this.#instances.set(record.sdkInstanceId, seqs);
    }
    const gap = record.seq - seqs.lastSeq - 1;
    if (gap > 0 && seqs.lastSeq > 0) {
      seqs.missing += gap;
      this.#counts.missingExposureWindows += gap;
    }
    seqs.lastSeq = record.seq;
    this.#counts.exposures += 1;
    this.#aggregate.addExposure(record);
    return true;
  }

  /** Applies one label; returns `false` if a label for that request was already applied. */
  applyLabel(record: LabelRecord): boolean {
    if (record.experiment !== this.#ctx.experiment) {
      throw UmbraError.invalid(
        "/experiment",
        `must match the subject's experiment ${this.#ctx.experiment} (got ${record.experiment})`,
      );
    }
    this.dirty = true;
    const result = this.#labels.addLabel(record, this.#aggregate, this.#ctx.spec());
    if (result.dropped > 0) this.#ctx.onDrop("pending_labels", result.dropped);
    if (!result.applied) {
      this.#counts.duplicates.labels += 1;
      return false;
    }
    this.#counts.labels += 1;
    return true;
  }

  /** Counts a dead-lettered record of `kind` under its reason `code`. */
  countDeadLetter(kind: IngestKind, code: string): void {
    const byCode = this.#counts.deadLetters[kind];
    byCode[code] = (byCode[code] ?? 0) + 1;
    this.dirty = true;
  }

  /** The whole state as JSON text, for a checkpoint. */
  toJSON(): string {
    const json: StateJSON = {
      format: 1,
      experiment: this.#ctx.experiment,
      lastSeq: this.lastSeq,
      counts: this.#counts,
      recentIds: this.#recent.toArray(),
      instances: Object.fromEntries(this.#instances),
      aggregate: this.#aggregate.toJSON(),
      labels: this.#labels.toJSON(),
    };
    return JSON.stringify(json);
  }
}
