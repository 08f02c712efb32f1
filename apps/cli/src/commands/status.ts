import type { CliIo } from "../cli-io.ts";
import type { CollectorClient } from "../collector-client.ts";
import { type CollectorStatus, renderStatus } from "../status-view.ts";

/** `umbra status <experiment> [--json]`: where the promotion stands, in words. */
export async function runStatus(
  client: CollectorClient,
  experiment: string,
  options: { readonly json: boolean },
  io: CliIo,
): Promise<void> {
  const status = (await client.status(experiment)) as CollectorStatus;
  io.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
}
