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
}

/** What the HTTP API asks of the collector; {@link createCollector} implements it. */
export interface CollectorService {
  health(): HealthStatus;
  metricsText(): Promise<{ readonly contentType: string; readonly text: string }>;
  experiments(): Promise<ExperimentSummary[]>;
  registerSpec(body: unknown, experiment: string): Promise<RegisterResult>;
  spec(experiment: string): Promise<unknown>;
  report(experiment: string): Promise<ExperimentReport>;
  examples(experiment: string, query: ExamplesQuery): Promise<ExamplesResponse>;
  exportExamples(
    experiment: string,
    query: ExportQuery,
  ): Promise<{ readonly total: number; readonly lines: Iterable<string> }>;
}
