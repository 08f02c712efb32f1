import { Argument, Command, CommanderError, Option } from "commander";
import { CliError, CliErrorCode, EXIT_CODES } from "./cli-error.ts";
import type { CliIo } from "./cli-io.ts";
import { createCollectorClient } from "./collector-client.ts";
import { runCommand } from "./commands/command.ts";
import { runExamples } from "./commands/examples.ts";
import { runExplain } from "./commands/explain.ts";
import { runExport } from "./commands/export.ts";
import { runReport } from "./commands/report.ts";
import { runStatus } from "./commands/status.ts";
import {
  DEFAULT_COLLECTOR_URL,
  parseActor,
  parseDecisionLimit,
  parseLimit,
  parseNote,
  parseSegment,
  parseToken,
  parseUrl,
} from "./options.ts";

/** The promotion commands, with what each does. */
const COMMANDS = [
  ["approve", "release a held candidate to the step after the one it was held in"],
  ["hold", "stop a candidate where it is until a human acts"],
  ["promote", "skip ahead: to the 100% stage (from shadow or a live stage), or end the watch"],
  ["rollback", "back to the last known good (a candidate that served live traffic)"],
  ["resume", "hand the flag back to the collector after a human edit"],
] as const;

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
    .description(
      "Umbra: read the collector's side-by-side reports of shadow variants, follow and steer their promotion.",
    )
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

  program
    .command("status")
    .description("where the promotion stands: stage, live variant, each candidate with its reason")
    .addArgument(new Argument("<experiment>", "experiment name").argParser(parseToken))
    .addOption(urlOption())
    .option("--json", "print the status as JSON")
    .action(async (experiment: string, opts: { url: string; json?: boolean }) => {
      await runStatus(client(opts.url), experiment, { json: opts.json === true }, io);
    });

  program
    .command("explain")
    .description("the decision history in words, every spec version, repeated evaluations folded")
    .addArgument(new Argument("<experiment>", "experiment name").argParser(parseToken))
    .addOption(
      new Option("--limit <n>", "the newest n records (1-10000, default 1000)").argParser(
        parseDecisionLimit,
      ),
    )
    .option("--current", "only the current spec version")
    .addOption(urlOption())
    .option("--json", "print the records as JSON")
    .action(
      async (
        experiment: string,
        opts: { url: string; json?: boolean; limit?: number; current?: boolean },
      ) => {
        await runExplain(
          client(opts.url),
          experiment,
          {
            json: opts.json === true,
            current: opts.current === true,
            ...(opts.limit === undefined ? {} : { limit: opts.limit }),
          },
          io,
        );
      },
    );

  for (const [kind, description] of COMMANDS) {
    const command = program
      .command(kind)
      .description(`${description} (needs the admin token)`)
      .addArgument(new Argument("<experiment>", "experiment name").argParser(parseToken));
    if (kind !== "resume") {
      command.addArgument(
        new Argument("[variant]", "the candidate (may be left out when only one fits)").argParser(
          parseToken,
        ),
      );
    }
    command
      .option("--token <token>", "the collector's admin token (env UMBRA_ADMIN_TOKEN)")
      .addOption(
        new Option("--by <name>", "who gives the command (default $USER)").argParser(parseActor),
      )
      .addOption(new Option("--note <text>", "why, kept in the decision log").argParser(parseNote))
      .addOption(urlOption())
      .option("--json", "print the status after the command as JSON")
      .action(async (experiment: string, ...rest: unknown[]) => {
        const variant = kind === "resume" ? undefined : (rest[0] as string | undefined);
        const opts = (kind === "resume" ? rest[0] : rest[1]) as {
          url: string;
          token?: string;
          by?: string;
          note?: string;
          json?: boolean;
        };
        await runCommand(
          client(opts.url),
          kind,
          experiment,
          variant,
          {
            json: opts.json === true,
            ...(opts.token === undefined ? {} : { token: opts.token }),
            ...(opts.by === undefined ? {} : { by: opts.by }),
            ...(opts.note === undefined ? {} : { note: opts.note }),
          },
          io,
        );
      });
  }

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
