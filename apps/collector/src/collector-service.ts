import type { PromotionCommand } from "./promotion/advancer.ts";
import type { DecisionsResponse } from "./promotion/decision-log.ts";
import type { PromotionStatus } from "./promotion/promotion-status.ts";
import type {
  ExamplesQuery,
  ExamplesResponse,
  ExperimentReport,
  ExperimentSummary,
  ExportQuery,
} from "./reports/experiment-report.ts";
import type { RegisterResult } from "./specs/spec-registry.ts";

/** What `/healthz` answers. */
export interface HealthStatus {
  /** `ok` once started and connected; `starting`, `degraded` (NATS reconnecting) or `closed` otherwise. */
  readonly status: "ok" | "starting" | "degraded" | "closed";
  readonly replica: string;
  /** Experiments whose lease this replica holds. */
  readonly experiments: readonly string[];
  /** The flag file this collector promotes through; `null`: promotion off. */
  readonly flagFile: string | null;
  /** `host:port` of the flagd.sync.v1 endpoint serving the flag file; `null` when not served. */
  readonly flagSync: string | null;
  /** No admin token configured: mutating endpoints answer 403. */
  readonly readOnly: boolean;
}

/** Filters of `GET /experiments/:name/decisions`. */
export interface DecisionsQuery {
  /** The newest this many records. */
  readonly limit: number;
  /** `current`: only the registered spec version's; `all`: every version's. */
  readonly version: "current" | "all";
}

/** What the HTTP API asks of the collector; {@link createCollector} implements it. */
export interface CollectorService {
  health(): HealthStatus;
  metricsText(): Promise<{ readonly contentType: string; readonly text: string }>;
  experiments(): Promise<ExperimentSummary[]>;
  registerSpec(body: unknown, experiment: string): Promise<RegisterResult>;
  spec(experiment: string): Promise<unknown>;
  report(experiment: string): Promise<ExperimentReport>;
  /** The report of the version before the current one (`version`: its spec hash or a prefix of 12+). */
  previousReport(experiment: string, version: string): Promise<unknown>;
  /** Throws `unauthenticated` / `permission_denied` unless `authorization` carries the admin token. */
  authorize(authorization: string | undefined): void;
  status(experiment: string): Promise<PromotionStatus>;
  decisions(experiment: string, query: DecisionsQuery): Promise<DecisionsResponse>;
  /** Applies a human command on the replica holding the experiment; resolves the status after it. */
  command(experiment: string, command: PromotionCommand): Promise<unknown>;
  examples(experiment: string, query: ExamplesQuery): Promise<ExamplesResponse>;
  exportExamples(
    experiment: string,
    query: ExportQuery,
  ): Promise<{ readonly total: number; readonly lines: Iterable<string> }>;
}
