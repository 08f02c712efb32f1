import { Argument, Command, CommanderError, Option } from "commander";
import { CliError, CliErrorCode, EXIT_CODES } from "./cli-error.ts";
import type { CliIo } from "./cli-io.ts";
import { createCollectorClient } from "./collector-client.ts";
import { runExamples } from "./commands/examples.ts";
import { runExport } from "./commands/export.ts";
import { runReport } from "./commands/report.ts";
import {
  DEFAULT_COLLECTOR_URL,
  parseLimit,
  parseSegment,
  parseToken,
  parseUrl,
} from "./options.ts";

/**
 * Runs the `umbra` command line with `argv` (without `node` and the script) and resolves the
 * exit code: 0 on success, the code of the {@link CliError} otherwise (see `EXIT_CODES`).
 *
 * @example
 * ```ts
 * const code = await runCli(["report", "ranker", "--json"], { stdout: process.stdout, stderr: process.stderr, env: process.env });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = new Command("umbra")
    .description("Umbra: read the collector's side-by-side reports of shadow variants.")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError("(run umbra --help for usage)");

  const urlOption = () =>
    new Option("--url <url>", "collector base URL (env UMBRA_COLLECTOR_URL)")
      .argParser(parseUrl)
      .default(io.env.UMBRA_COLLECTOR_URL ?? DEFAULT_COLLECTOR_URL);
  const client = (url: string) =>
    createCollectorClient(url, io.fetch === undefined ? {} : { fetch: io.fetch });

  program
    .command("report")
    .description("print variants A/B/C side by side (pairs, coverage, divergence, latency, rates)")
    .addArgument(new Argument("<experiment>", "experiment name").argParser(parseToken))
    .addOption(urlOption())
    .option("--json", "print the report as JSON")
    .action(async (experiment: string, opts: { url: string; json?: boolean }) => {
      await runReport(client(opts.url), experiment, { json: opts.json === true }, io);
    });

  program
    .command("examples")
    .description("print divergent examples of one variant, for review")
    .addArgument(new Argument("<experiment>", "experiment name").argParser(parseToken))
    .addArgument(new Argument("<variant>", "shadow variant").argParser(parseToken))
    .addOption(
      new Option("--segment <attribute:value>", "only this segment").argParser(parseSegment),
    )
    .addOption(new Option("--limit <n>", "at most n examples (1-1000)").argParser(parseLimit))
    .addOption(urlOption())
    .option("--json", "print the examples as JSON")
    .action(
      async (
        experiment: string,
        variant: string,
        opts: { url: string; json?: boolean; segment?: string; limit?: number },
      ) => {
        await runExamples(client(opts.url), experiment, variant, opts, io);
      },
    );

  program
    .command("export")
    .description("export divergent examples as JSONL (fine-tuning data), with progress")
    .addArgument(new Argument("<experiment>", "experiment name").argParser(parseToken))
    .option("--out <file>", "write to this file instead of stdout")
    .addOption(new Option("--variant <variant>", "only this variant").argParser(parseToken))
    .addOption(
      new Option("--segment <attribute:value>", "only this segment").argParser(parseSegment),
    )
    .addOption(urlOption())
    .action(
      async (
        experiment: string,
        opts: { url: string; out?: string; variant?: string; segment?: string },
      ) => {
        await runExport(client(opts.url), experiment, opts, io);
      },
    );

  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (help, version, or a usage error naming the flag).
      return error.exitCode === 0 ? 0 : EXIT_CODES[CliErrorCode.Usage];
    }
    const e =
      error instanceof CliError
        ? error
        : new CliError(
            CliErrorCode.Server,
            error instanceof Error ? error.message : String(error),
            {
              cause: error,
            },
          );
    io.stderr.write(`umbra: ${e.message}\n`);
    return EXIT_CODES[e.code];
  }
}
