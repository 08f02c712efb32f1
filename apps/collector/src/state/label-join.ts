import {
  type Comparator,
  createComparator,
  createRateCounter,
  type RateCounter,
  type RateCounterJson,
  rateCounterFromJSON,
} from "@umbra/compare";
import {
  DEFAULT_LABEL_HORIZONS_MS,
  type ExperimentSpec,
  type LabelRecord,
  type PairRecord,
} from "@umbra/protocol";

/** One pair waiting for its label: only what scoring needs (the label field of each side). */
interface PendingEntry extends ScoredPair {
  readonly production: unknown;
  /** `undefined` when the shadow gave no output (not ok): scored as incorrect. */
  readonly shadow: unknown;
}

/** The facts of a pair that a label was scored against, for promotion evidence. */
export interface ScoredPair {
  readonly variant: string;
  readonly requestTimestampMs: number;
  /** Who answered the user (absent in checkpoints written before it was kept). */
  readonly liveVariant?: string;
  readonly specHash?: string;
  readonly segment?: Readonly<Record<string, string>>;
}

/** A label kept so pairs that arrive after it still join. */
interface KeptLabel {
  readonly label: unknown;
  readonly observedAtMs: number;
}

/** Quality tallies of one variant at one horizon: correct ÷ labelled, production and shadow. */
interface Quality {
  production: RateCounter;
  shadow: RateCounter;
}

/** The label join's part of a checkpoint. */
export interface LabelJoinJSON {
  readonly field: string;
  readonly horizonsMs: readonly number[];
  readonly pending: [requestId: string, entries: PendingEntry[]][];
  readonly labels: [requestId: string, label: KeptLabel][];
  readonly quality: Record<string, { production: RateCounterJson; shadow: RateCounterJson }[]>;
  readonly counts: LabelCounts;
  readonly watermarkMs: number;
}

/** Counters of the label join. */
export interface LabelCounts {
  /** Pair × label joins scored. */
  joined: number;
  /** Labels that arrived after the last horizon of their pairs (not scored). */
  late: number;
  /** Pairs evicted from the pending index because it was full. */
  droppedPairs: number;
  /** Labels evicted from the kept-label index because it was full. */
  droppedLabels: number;
  /** Pairs that waited past the last horizon without a label. */
  expired: number;
}

/** What {@link LabelJoin.addLabel} did. */
export interface AddLabelResult {
  /** `false` when a label for the same request is already kept (a duplicate). */
  readonly applied: boolean;
  /** Entries the bounded index let go to make room. */
  readonly dropped: number;
}

/** The label part of a report: quality per variant and horizon, with Wilson intervals. */
export interface LabelReport {
  readonly field: string;
  readonly horizonsMs: readonly number[];
  readonly counts: Readonly<LabelCounts>;
  readonly pendingPairs: number;
  readonly keptLabels: number;
  readonly variants: Readonly<
    Record<
      string,
      readonly {
        readonly horizonMs: number;
        readonly labelled: number;
        readonly productionAccuracy: RateWithInterval;
        readonly shadowAccuracy: RateWithInterval;
      }[]
    >
  >;
}

/** A rate with its 95% Wilson interval. */
export interface RateWithInterval {
  readonly correct: number;
  readonly rate: number | null;
  readonly lower: number;
  readonly upper: number;
}

const SCORABLE = new Set(["label", "exact", "structured", "numeric", "rougeL"]);

/**
 * The output field labels are scored against: the first field of the spec whose comparator can
 * judge a prediction against a true answer (label, exact, structured, numeric, ROUGE-L), else
 * `label` when the outputs have one, else the whole output (`$`).
 */
export function labelField(spec: ExperimentSpec | undefined): {
  readonly field: string;
  readonly comparator: Comparator;
} {
  for (const [field, config] of Object.entries(spec?.outputs ?? {})) {
    if (SCORABLE.has(config.kind)) {
      return { field, comparator: createComparator(config, { path: `/outputs/${field}` }) };
    }
  }
  return {
    field: spec === undefined ? "label" : "$",
    comparator: createComparator({ kind: "structured" }),
  };
}

function read(output: unknown, field: string): unknown {
  if (field === "$") return output;
  if (typeof output === "object" && output !== null && !ArrayBuffer.isView(output)) {
    return (output as Record<string, unknown>)[field];
  }
  return undefined;
}

/**
 * Joins late labels to pairs by request id inside the spec's label horizons (1, 3 and 7 days by
 * default). Pairs wait in a bounded index (oldest evicted first, counted in `droppedPairs`) and
 * expire once newer pairs are past their last horizon; labels are kept in a bounded
 * index too, so pairs of other variants arriving after their label still join. Joining is
 * symmetric: the result does not depend on whether the pair or the label came first.
 */
export class LabelJoin {
  readonly #capacity: number;
  readonly #field: string;
  readonly #comparator: Comparator;
  readonly #horizonsMs: readonly number[];
  readonly #pending = new Map<string, PendingEntry[]>();
  #pendingEntries = 0;
  readonly #labels = new Map<string, KeptLabel>();
  readonly #quality = new Map<string, Quality[]>();
  readonly #counts: LabelCounts;
  #watermarkMs = 0;
  /**
   * Called once for every pair scored against its label (within the last horizon), with
   * whether each side was right: the promotion's quality evidence.
   */
  onScored:
    | ((pair: ScoredPair, productionCorrect: boolean, shadowCorrect: boolean) => void)
    | undefined;

  constructor(capacity: number, spec: ExperimentSpec | undefined, json: LabelJoinJSON | undefined) {
    this.#capacity = capacity;
    const { field, comparator } = labelField(spec);
    this.#field = json?.field ?? field;
    this.#comparator = comparator;
    this.#horizonsMs = [
      ...(json?.horizonsMs ?? spec?.labels?.horizonsMs ?? DEFAULT_LABEL_HORIZONS_MS),
    ].sort((a, b) => a - b);
    this.#counts = json?.counts ?? {
      joined: 0,
      late: 0,
      droppedPairs: 0,
      droppedLabels: 0,
      expired: 0,
    };
    this.#watermarkMs = json?.watermarkMs ?? 0;
    for (const [id, entries] of json?.pending ?? []) {
      this.#pending.set(id, entries);
      this.#pendingEntries += entries.length;
    }
    for (const [id, label] of json?.labels ?? []) this.#labels.set(id, label);
    for (const [variant, list] of Object.entries(json?.quality ?? {})) {
      this.#quality.set(
        variant,
        list.map((q) => ({
          production: rateCounterFromJSON(q.production),
          shadow: rateCounterFromJSON(q.shadow),
        })),
      );
    }
  }

  /** Whether pairs are indexed at all: once a label was seen, or when the spec declares horizons. */
  active(spec: ExperimentSpec | undefined): boolean {
    return spec?.labels !== undefined || this.#labels.size > 0 || this.#counts.joined > 0;
  }

  /** Scores a pair against its kept label, or indexes it; returns entries dropped for room. */
  addPair(record: PairRecord): number {
    const entry: PendingEntry = {
      variant: record.variant,
      requestTimestampMs: record.requestTimestampMs,
      liveVariant: record.liveVariant,
      ...(record.specHash === undefined ? {} : { specHash: record.specHash }),
      segment: record.segment,
      production: read(record.production.output, this.#field),
      shadow: record.shadow.outcome === "ok" ? read(record.shadow.output, this.#field) : undefined,
    };
    this.#watermarkMs = Math.max(this.#watermarkMs, record.requestTimestampMs);
    const label = this.#labels.get(record.requestId);
    if (label !== undefined) {
      this.#score(entry, label);
      return 0;
    }
    const list = this.#pending.get(record.requestId);
    if (list === undefined) this.#pending.set(record.requestId, [entry]);
    else list.push(entry);
    this.#pendingEntries += 1;
    this.#expire();
    return this.#evictPairs();
  }

  /** Applies a label: scores the pairs waiting for it and keeps it for pairs still to come. */
  addLabel(record: LabelRecord): AddLabelResult {
    if (this.#labels.has(record.requestId)) return { applied: false, dropped: 0 };
    const kept: KeptLabel = { label: record.label, observedAtMs: record.observedAtMs };
    this.#labels.set(record.requestId, kept);
    const waiting = this.#pending.get(record.requestId);
    if (waiting !== undefined) {
      this.#pending.delete(record.requestId);
      this.#pendingEntries -= waiting.length;
      for (const entry of waiting) this.#score(entry, kept);
    }
    let dropped = 0;
    while (this.#labels.size > Math.max(1, Math.floor(this.#capacity / 4))) {
      const oldest = this.#labels.keys().next().value as string;
      this.#labels.delete(oldest);
      this.#counts.droppedLabels += 1;
      dropped += 1;
    }
    return { applied: true, dropped };
  }

  /** The join's counters. */
  get counts(): Readonly<LabelCounts> {
    return this.#counts;
  }

  /** Quality per variant and horizon, for reports. */
  report(): LabelReport {
    const variants: Record<string, LabelReport["variants"][string]> = {};
    for (const [variant, list] of [...this.#quality].sort(([a], [b]) => a.localeCompare(b))) {
      variants[variant] = list.map((q, i) => ({
        horizonMs: this.#horizonsMs[i] as number,
        labelled: q.production.trials,
        productionAccuracy: rate(q.production),
        shadowAccuracy: rate(q.shadow),
      }));
    }
    return {
      field: this.#field,
      horizonsMs: this.#horizonsMs,
      counts: this.#counts,
      pendingPairs: this.#pendingEntries,
      keptLabels: this.#labels.size,
      variants,
    };
  }

  /** The join as JSON, for a checkpoint. */
  toJSON(): LabelJoinJSON {
    const quality: LabelJoinJSON["quality"] = {};
    for (const [variant, list] of this.#quality) {
      quality[variant] = list.map((q) => ({
        production: q.production.toJSON(),
        shadow: q.shadow.toJSON(),
      }));
    }
    return {
      field: this.#field,
      horizonsMs: this.#horizonsMs,
      pending: [...this.#pending],
      labels: [...this.#labels],
      quality,
      counts: this.#counts,
      watermarkMs: this.#watermarkMs,
    };
  }

  #score(entry: PendingEntry, label: KeptLabel): void {
    const delayMs = Math.max(0, label.observedAtMs - entry.requestTimestampMs);
    const last = this.#horizonsMs.at(-1) ?? 0;
    if (delayMs > last) {
      this.#counts.late += 1;
      return;
    }
    let list = this.#quality.get(entry.variant);
    if (list === undefined) {
      list = this.#horizonsMs.map(() => ({
        production: createRateCounter(),
        shadow: createRateCounter(),
      }));
      this.#quality.set(entry.variant, list);
    }
    const productionOk = this.#correct(entry.production, label.label);
    const shadowOk = entry.shadow !== undefined && this.#correct(entry.shadow, label.label);
    this.#horizonsMs.forEach((h, i) => {
      if (delayMs > h) return;
      list[i]?.production.add(productionOk);
      list[i]?.shadow.add(shadowOk);
    });
    this.#counts.joined += 1;
    this.onScored?.(entry, productionOk, shadowOk);
  }

  #correct(predicted: unknown, truth: unknown): boolean {
    if (predicted === undefined) return false;
    return !this.#comparator.compare(truth, predicted).divergent;
  }

  #evictPairs(): number {
    let dropped = 0;
    while (this.#pendingEntries > this.#capacity) {
      const oldest = this.#pending.keys().next().value as string;
      const entries = this.#pending.get(oldest) ?? [];
      this.#pending.delete(oldest);
      this.#pendingEntries -= entries.length;
      this.#counts.droppedPairs += entries.length;
      dropped += entries.length;
    }
    return dropped;
  }

  /**
   * Drops pairs whose request is older than the newest pair's by more than the last horizon: any
   * label still to come for them would be late. Event time of the pairs, not of labels, so one
   * label with a wild timestamp cannot expire the index. Pairs arrive roughly in request-time
   * order, so the oldest sit at the front.
   */
  #expire(): void {
    const last = this.#horizonsMs.at(-1) ?? 0;
    for (const [id, entries] of this.#pending) {
      const newest = Math.max(...entries.map((e) => e.requestTimestampMs));
      if (this.#watermarkMs - newest <= last) break;
      this.#pending.delete(id);
      this.#pendingEntries -= entries.length;
      this.#counts.expired += entries.length;
    }
  }
}

function rate(c: RateCounter): RateWithInterval {
  const i = c.interval(0.95);
  return { correct: c.successes, rate: c.rate, lower: i.lower, upper: i.upper };
}
