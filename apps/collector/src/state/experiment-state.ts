import {
  type Aggregate,
  aggregateFromJSON,
  aggregateOptionsFromSpec,
  buildReport as buildComparisonReport,
  type ExperimentReport as ComparisonReport,
  createAggregate,
  createOutputComparator,
  type OutputComparator,
} from "@umbra/compare";
import {
  type ExposureRecord,
  type LabelRecord,
  type PairRecord,
  pairMessageId,
  UmbraError,
} from "@umbra/protocol";
import type { IngestKind } from "../ingest/ensure-streams.ts";
import type { PromotionControl, PromotionSlot } from "../promotion/promotion-control.ts";
import { StageEvidence, type StageEvidenceJSON } from "../promotion/stage-evidence.ts";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import { LabelJoin, type LabelJoinJSON } from "./label-join.ts";
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
  readonly previousVersions: PreviousVersion[];
  readonly previousReport?: PreviousReport | null;
  readonly promotion?: { readonly control: PromotionControl; readonly evidence: StageEvidenceJSON };
}

/** The side-by-side report of the version before the current one, kept when small enough. */
export interface PreviousReport {
  readonly specHash: string | null;
  readonly pairs: number;
  readonly comparison: ComparisonReport;
}

/** An aggregate set aside when the experiment's spec changed: its evidence is not reused. */
export interface PreviousVersion {
  readonly specHash: string | null;
  readonly pairs: number;
}

/** The comparator used when an experiment has no registered spec: structured equality of the whole output. */
export const DEFAULT_OUTPUTS = { $: { kind: "structured" } } as const;

/** Spec versions remembered per experiment. */
const MAX_PREVIOUS_VERSIONS = 8;

/** SDK instances whose exposure sequence is tracked per experiment. */
const MAX_INSTANCES = 10_000;

/** The largest previous-version report kept in the checkpoint (JSON characters). */
const MAX_PREVIOUS_REPORT_CHARS = 262_144;

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
  #aggregate: Aggregate;
  #comparator: OutputComparator | undefined;
  #comparatorNote: string;
  #labels: LabelJoin;
  #specHash: string | null;
  readonly #previous: PreviousVersion[];
  #previousReport: PreviousReport | null;
  /** The advancer's control and evidence windows (the replica holding the lease drives them). */
  promotion: PromotionSlot | undefined;

  private constructor(ctx: ExperimentStateContext, json: StateJSON | undefined) {
    this.#ctx = ctx;
    this.lastSeq = { ...(json?.lastSeq ?? { pairs: 0, exposures: 0, labels: 0 }) };
    this.#counts = json?.counts ?? {
      pairs: 0,
      exposures: 0,
      labels: 0,
      duplicates: { pairs: 0, exposures: 0, labels: 0 },
      deadLetters: { pairs: {}, exposures: {}, labels: {} },
      missingExposureWindows: 0,
    };
    this.#recent = new RecentIds(ctx.dedupeIds, json?.recentIds ?? []);
    this.#instances = new Map(Object.entries(json?.instances ?? {}));
    this.#previous = json?.previousVersions ?? [];
    this.#previousReport = json?.previousReport ?? null;
    const spec = ctx.spec();
    const stored = json?.promotion;
    this.promotion =
      stored === undefined
        ? undefined
        : {
            control: stored.control,
            evidence: new StageEvidence(
              spec?.hash === stored.control.specHash ? spec.spec : undefined,
              stored.control.specHash,
              stored.evidence,
            ),
          };
    if (json === undefined) {
      this.#aggregate = ExperimentState.#newAggregate(ctx, spec);
    } else {
      this.#aggregate = aggregateFromJSON(json.aggregate);
    }
    this.#specHash = this.#aggregate.options.specHash;
    this.#labels = this.#labelJoin(spec, json?.labels);
    [this.#comparator, this.#comparatorNote] = ExperimentState.#comparatorFor(spec);
  }

  #labelJoin(spec: RegisteredSpec | undefined, json: LabelJoinJSON | undefined): LabelJoin {
    const join = new LabelJoin(this.#ctx.pendingLabels, spec?.spec, json);
    join.onScored = (pair, productionCorrect, shadowCorrect) =>
      this.promotion?.evidence.observeQuality(pair, productionCorrect, shadowCorrect);
    return join;
  }

  static #newAggregate(ctx: ExperimentStateContext, spec: RegisteredSpec | undefined): Aggregate {
    return createAggregate(
      spec === undefined ? { experiment: ctx.experiment } : aggregateOptionsFromSpec(spec.spec),
    );
  }

  static #comparatorFor(spec: RegisteredSpec | undefined): [OutputComparator | undefined, string] {
    if (spec === undefined) {
      return [
        createOutputComparator({ outputs: DEFAULT_OUTPUTS }),
        "no spec registered: whole outputs compared with structured equality",
      ];
    }
    try {
      return [
        createOutputComparator({ outputs: spec.spec.outputs }),
        "outputs compared field by field as the registered spec declares",
      ];
    } catch (error) {
      // A custom comparator this collector does not have: count pairs, compare nothing.
      return [
        undefined,
        `outputs not compared: ${error instanceof Error ? error.message : String(error)}`,
      ];
    }
  }

  /**
   * Follows a change of the registered spec: a new spec hash is a new experiment version, so the
   * aggregate starts afresh (the old one is remembered by its pair count, and its side-by-side
   * report is kept when small). Records do it as they arrive; the advancer does it at once.
   */
  followSpec(): void {
    const spec = this.#ctx.spec();
    const hash = spec?.hash ?? null;
    if (hash === this.#specHash) return;
    this.dirty = true;
    if (this.#specHash === null && this.#counts.pairs === 0 && this.#counts.exposures === 0) {
      // Nothing aggregated yet under the default: adopt the spec without a version break.
    } else {
      const comparison = buildComparisonReport(this.#aggregate);
      this.#previousReport =
        JSON.stringify(comparison).length <= MAX_PREVIOUS_REPORT_CHARS
          ? { specHash: this.#specHash, pairs: this.#counts.pairs, comparison }
          : null;
      this.#previous.push({ specHash: this.#specHash, pairs: this.#counts.pairs });
      if (this.#previous.length > MAX_PREVIOUS_VERSIONS) this.#previous.shift();
      this.#counts.pairs = 0;
      this.#counts.exposures = 0;
    }
    this.#aggregate = ExperimentState.#newAggregate(this.#ctx, spec);
    this.#specHash = hash;
    [this.#comparator, this.#comparatorNote] = ExperimentState.#comparatorFor(spec);
    this.#labels = this.#labelJoin(spec, undefined);
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

  /** The `@umbra/compare` aggregate of compared pairs and exposures. */
  get aggregate(): Aggregate {
    return this.#aggregate;
  }

  /** How outputs are compared, in words (the default comparator, the spec's, or none). */
  get comparatorNote(): string {
    return this.#comparatorNote;
  }

  /** The spec hash the aggregate was built under (`null`: the default comparator). */
  get specHash(): string | null {
    return this.#specHash;
  }

  /** Aggregates set aside by spec changes. */
  get previousVersions(): readonly PreviousVersion[] {
    return this.#previous;
  }

  /** The report of the version before the current one, when it was small enough to keep. */
  get previousReport(): PreviousReport | null {
    return this.#previousReport;
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
    if (!this.#recent.add(pairMessageId(record.experiment, record.requestId, record.variant))) {
      this.#counts.duplicates.pairs += 1;
      this.dirty = true;
      return false;
    }
    if (this.#recent.evicted > evictedBefore) this.#ctx.onDrop("dedupe_ids", 1);
    this.dirty = true;
    this.followSpec();
    const comparison = this.#comparator?.comparePair(record);
    this.promotion?.evidence.observePair(record, comparison);
    if (!this.#aggregate.addPair(record, comparison)) return true;
    this.#counts.pairs += 1;
    if (this.#labels.active(this.#ctx.spec()?.spec)) {
      const dropped = this.#labels.addPair(record);
      if (dropped > 0) this.#ctx.onDrop("pending_labels", dropped);
    }
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
    this.followSpec();
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
    const missing = gap > 0 && seqs.lastSeq > 0 ? gap : 0;
    if (missing > 0) {
      seqs.missing += missing;
      this.#counts.missingExposureWindows += missing;
    }
    this.promotion?.evidence.observeExposure(record, missing);
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
    this.followSpec();
    const result = this.#labels.addLabel(record);
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
      previousVersions: this.#previous,
      previousReport: this.#previousReport,
      ...(this.promotion === undefined
        ? {}
        : {
            promotion: {
              control: this.promotion.control,
              evidence: this.promotion.evidence.toJSON(),
            },
          }),
    };
    return JSON.stringify(json);
  }
}
