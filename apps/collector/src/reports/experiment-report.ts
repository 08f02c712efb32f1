import type { IngestKind } from "../ingest/ensure-streams.ts";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import type { ExperimentCounts, ExperimentState } from "../state/experiment-state.ts";

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

/** The report of one experiment: the collector's envelope around the comparison. */
export interface ExperimentReport {
  readonly experiment: string;
  readonly generatedAtMs: number;
  readonly source: "memory" | "checkpoint";
  readonly owner: string | null;
  readonly positions: Readonly<Record<IngestKind, number>>;
  readonly spec: {
    readonly hash: string | null;
    /** What the comparison used: the registered spec, or the default when none is registered. */
    readonly note: string;
  };
  readonly counts: Readonly<ExperimentCounts>;
  readonly variants: Readonly<Record<string, unknown>>;
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
  /** Only divergent examples (default) or every kept example. */
  readonly divergent: boolean;
}

/** The answer of `GET /experiments/:name/examples`. */
export interface ExamplesResponse {
  readonly experiment: string;
  readonly examples: readonly unknown[];
}

/** Builds the report of a view. */
export function buildReport(view: ExperimentView, nowMs: number): ExperimentReport {
  const agg = view.state.aggregate.toJSON() as { variants: Record<string, unknown> };
  return {
    experiment: view.experiment,
    generatedAtMs: nowMs,
    source: view.source,
    owner: view.owner ?? null,
    positions: { ...view.state.lastSeq },
    spec: {
      hash: view.spec?.hash ?? null,
      note:
        view.spec === undefined
          ? "no spec registered: outputs compared with structured equality"
          : "outputs compared as the registered spec declares",
    },
    counts: view.state.counts,
    variants: agg.variants,
  };
}

/** The examples a view keeps, filtered (interim: none until the compare aggregate is wired in). */
export function listExamples(
  _view: ExperimentView,
  _query: Omit<ExportQuery, "divergent"> & { readonly divergent: boolean; readonly limit: number },
): unknown[] {
  return [];
}
