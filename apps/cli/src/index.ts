export { CliError, CliErrorCode, EXIT_CODES } from "./cli-error.ts";
export type { CliIo } from "./cli-io.ts";
export type {
  CollectorClient,
  CollectorClientOptions,
  CommandRequest,
  ExportStream,
} from "./collector-client.ts";
export { createCollectorClient } from "./collector-client.ts";
export { renderExplanation } from "./commands/explain.ts";
export { DEFAULT_COLLECTOR_URL } from "./options.ts";
export { runCli } from "./program.ts";
export type { CollectorReport } from "./report-table.ts";
export { renderReportTable } from "./report-table.ts";
export type { CollectorStatus } from "./status-view.ts";
export { renderStatus } from "./status-view.ts";
