import type { CliIo } from "../cli-io.ts";
import type { CollectorClient } from "../collector-client.ts";
import { type CollectorReport, renderReportTable } from "../report-table.ts";

/** `umbra report <experiment> [--json]`: the side-by-side A/B/C report. */
export async function runReport(
  client: CollectorClient,
  experiment: string,
  options: { readonly json: boolean },
  io: CliIo,
): Promise<void> {
  const report = (await client.report(experiment)) as CollectorReport;
  io.stdout.write(
    options.json ? `${JSON.stringify(report, null, 2)}\n` : renderReportTable(report),
  );
}
