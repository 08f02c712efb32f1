import type { CliIo } from "../cli-io.ts";
import type { CollectorClient } from "../collector-client.ts";
import { type CollectorStatus, renderStatus } from "../status-view.ts";

/** Options of a promotion command. */
export interface CommandOptions {
  readonly token?: string;
  readonly by?: string;
  readonly note?: string;
  readonly json: boolean;
}

/**
 * `umbra approve|hold|promote|rollback|resume <experiment> [variant]`: sends the command with
 * the admin token (`--token`, else `UMBRA_ADMIN_TOKEN`) and prints the status after it.
 */
export async function runCommand(
  client: CollectorClient,
  kind: string,
  experiment: string,
  variant: string | undefined,
  options: CommandOptions,
  io: CliIo,
): Promise<void> {
  const token = options.token ?? io.env.UMBRA_ADMIN_TOKEN;
  const by = options.by ?? sanitizeUser(io.env.USER);
  const status = (await client.command(experiment, {
    kind,
    ...(variant === undefined ? {} : { variant }),
    ...(by === undefined ? {} : { by }),
    ...(options.note === undefined ? {} : { note: options.note }),
    ...(token === undefined || token === "" ? {} : { token }),
  })) as CollectorStatus;
  if (options.json) {
    io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  io.stdout.write(
    `${kind}${variant === undefined ? "" : ` ${variant}`}: done\n\n${renderStatus(status)}`,
  );
}

/** The login name as a `by`, when it is one the collector accepts. */
function sanitizeUser(user: string | undefined): string | undefined {
  return user !== undefined && /^[A-Za-z0-9_.@-]{1,64}$/.test(user) ? user : undefined;
}
