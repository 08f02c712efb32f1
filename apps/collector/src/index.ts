export { Buckets } from "./checkpoint/open-buckets.ts";
export { CollectorError, CollectorErrorCode } from "./collector-error.ts";
export type { CollectorService, DecisionsQuery, HealthStatus } from "./collector-service.ts";
export type { CollectorConfig } from "./config.ts";
export { DEFAULT_CONFIG, loadConfig } from "./config.ts";
export type { Collector, CollectorDeps } from "./create-collector.ts";
export { createCollector } from "./create-collector.ts";
export { HTTP_STATUS } from "./http/error-status.ts";
export type { HttpServer } from "./http/serve-http.ts";
export { serveHttp } from "./http/serve-http.ts";
export { DeadLetterHeaders } from "./ingest/dead-letter.ts";
export type { IngestKind } from "./ingest/ensure-streams.ts";
export { ensureStreams, IngestKinds } from "./ingest/ensure-streams.ts";
export type { PromotionCommand } from "./promotion/advancer.ts";
export { PromotionCommandKind } from "./promotion/advancer.ts";
export { controlSubject } from "./promotion/control-channel.ts";
export type { DecisionsResponse } from "./promotion/decision-log.ts";
export { ControlMode } from "./promotion/promotion-control.ts";
export type { CandidateStatus, PromotionStatus } from "./promotion/promotion-status.ts";
export type {
  ExamplesResponse,
  ExperimentReport,
  ExperimentSummary,
} from "./reports/experiment-report.ts";
export { loadSpecFiles } from "./specs/spec-registry.ts";
