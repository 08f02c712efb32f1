import {
  buildReport as buildComparisonReport,
  type ExperimentReport as ComparisonReport,
  type DivergentExample,
} from "@umbra/compare";
import type { IngestKind } from "../ingest/ensure-streams.ts";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import type {
  ExperimentCounts,
  ExperimentState,
  PreviousVersion,
} from "../state/experiment-state.ts";
import type { LabelReport } from "../state/label-join.ts";

/** Where a report's state came from. */
export interface ExperimentView {
  readonly experiment: string;
  readonly state: ExperimentState;
  /** `memory`: the holder's live state; `checkpoint`: the last checkpoint (another replica holds it, or none). */
  readonly source: "memory" | "checkpoint";
  /** The replica holding the lease, when one does. */
  readonly owner: string | undefined;
  /** The checkpoint revision the state was read at (checkpoint views). */
  readonly revision: number | undefined;
  readonly spec: RegisteredSpec | undefined;
}

/** One row of `GET /experiments`. */
export interface ExperimentSummary {
  readonly experiment: string;
  readonly owner: string | null;
  readonly specHash: string | null;
  readonly pairs: number;
  readonly variants: readonly string[];
}

/**
 * The report of one experiment: the collector's envelope (where the state came from, stream
 * positions, ingest counters, labels) around `@umbra/compare`'s side-by-side A/B/C report.
 */
export interface ExperimentReport {
  readonly experiment: string;
  readonly generatedAtMs: number;
  readonly source: "memory" | "checkpoint";
  readonly owner: string | null;
  /** Highest stream sequence applied per stream (the checkpoint position for checkpoint views). */
  readonly positions: Readonly<Record<IngestKind, number>>;
  readonly spec: {
    /** The spec hash the aggregate was built under; `null` when no spec is registered. */
    readonly hash: string | null;
    /** How outputs were compared, in words; says so when the default comparator was used. */
    readonly note: string;
    /** Earlier spec versions of this experiment, whose evidence is not part of this report. */
    readonly previousVersions: readonly PreviousVersion[];
  };
  readonly counts: Readonly<ExperimentCounts>;
  readonly labels: LabelReport;
  /** The side-by-side report of every shadow variant, from `@umbra/compare`. */
  readonly comparison: ComparisonReport;
}

/** Filters of `GET /experiments/:name/examples`. */
export interface ExamplesQuery {
  readonly variant?: string;
  readonly segment?: { readonly attribute: string; readonly value: string };
  readonly limit: number;
}

/** Filters of `GET /experiments/:name/export`. */
export interface ExportQuery {
  readonly variant?: string;
  readonly segment?: { readonly attribute: string; readonly value: string };
}

/** The answer of `GET /experiments/:name/examples`. */
export interface ExamplesResponse {
  readonly experiment: string;
  /** How many examples the reservoirs hold for this filter (before `limit`). */
  readonly total: number;
  readonly examples: readonly DivergentExample[];
}

/** Builds the report of a view. */
export function buildReport(view: ExperimentView, nowMs: number): ExperimentReport {
  const state = view.state;
  return {
    experiment: view.experiment,
    generatedAtMs: nowMs,
    source: view.source,
    owner: view.owner ?? null,
    positions: { ...state.lastSeq },
    spec: {
      hash: state.specHash,
      note: state.comparatorNote,
      previousVersions: state.previousVersions,
    },
    counts: state.counts,
    labels: state.labels.report(),
    comparison: buildComparisonReport(state.aggregate),
  };
}

/**
 * The divergent examples a view keeps, filtered by variant and segment: each variant's (or
 * segment cell's) reservoir, variants in name order.
 */
export function listExamples(view: ExperimentView, query: ExportQuery): DivergentExample[] {
  const aggregate = view.state.aggregate;
  const variants = query.variant === undefined ? [...aggregate.variants].sort() : [query.variant];
  const out: DivergentExample[] = [];
  for (const variant of variants) out.push(...aggregate.examples(variant, query.segment));
  return out;
}
