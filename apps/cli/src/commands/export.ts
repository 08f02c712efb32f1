import { createWriteStream, type WriteStream } from "node:fs";
import { SingleBar } from "cli-progress";
import { CliError, CliErrorCode } from "../cli-error.ts";
import type { CliIo } from "../cli-io.ts";
import type { CollectorClient } from "../collector-client.ts";

/** Options of `umbra export`. */
export interface ExportOptions {
  readonly out?: string;
  readonly variant?: string;
  readonly segment?: string;
}

/**
 * `umbra export <experiment>`: streams the collector's JSONL export to `--out` (or stdout),
 * with a progress bar on stderr when it is a terminal and the output is a file.
 */
export async function runExport(
  client: CollectorClient,
  experiment: string,
  options: ExportOptions,
  io: CliIo,
): Promise<void> {
  const exported = await client.exportExamples(experiment, {
    ...(options.variant === undefined ? {} : { variant: options.variant }),
    ...(options.segment === undefined ? {} : { segment: options.segment }),
  });
  let file: WriteStream | undefined;
  if (options.out !== undefined) {
    file = createWriteStream(options.out, { flags: "w" });
    await new Promise<void>((resolve, reject) => {
      file?.once("open", () => resolve());
      file?.once("error", (cause) =>
        reject(CliError.usage("--out", `cannot write ${options.out} (${cause.message})`)),
      );
    });
  }
  const bar =
    file !== undefined && io.stderr.isTTY === true
      ? new SingleBar({
          stream: io.stderr as NodeJS.WritableStream,
          format: "export {bar} {value}/{total} examples",
          hideCursor: true,
        })
      : undefined;
  bar?.start(exported.total ?? 0, 0);
  let written = 0;
  try {
    for await (const line of exported.lines) {
      if (file === undefined) io.stdout.write(`${line}\n`);
      else if (!file.write(`${line}\n`))
        await new Promise<void>((r) => file?.once("drain", () => r()));
      written += 1;
      bar?.update(written);
    }
  } finally {
    bar?.stop();
    if (file !== undefined) {
      await new Promise<void>((resolve, reject) =>
        file?.end((error?: Error | null) =>
          error
            ? reject(new CliError(CliErrorCode.Output, `writing ${options.out}: ${error.message}`))
            : resolve(),
        ),
      );
    }
  }
  if (file !== undefined) {
    io.stderr.write(`exported ${written} examples of ${experiment} to ${options.out}\n`);
  }
}
