// Composition root of the `umbra-variant` CLI: arguments → models → server → signals.
import { UmbraError } from "@umbra/protocol";
import { CliUsageError, cliHelp, loadCliModels, parseCliArgs } from "./cli.ts";
import { serveVariant } from "./serve-variant.ts";

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(cliHelp());
    return;
  }
  const config = parseCliArgs(argv);
  const models = await loadCliModels(config);
  const server = await serveVariant({ ...config.serve, models });
  console.log(`umbra-variant listening on ${server.address} (models: ${server.models.join(", ")})`);
  let stopping = false;
  const stop = (signal: string) => {
    // A terminal's Ctrl-C reaches both the bin and this process; one shutdown is enough.
    if (stopping) return;
    stopping = true;
    console.log(`umbra-variant: ${signal}, shutting down`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`umbra-variant: shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // Lets tests and operators flip readiness of a running variant without a restart.
  process.on("SIGUSR2", () => {
    server.setReady(!server.ready);
    console.log(`umbra-variant: ${server.ready ? "ready" : "not ready"}`);
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CliUsageError) {
    console.error(`umbra-variant: ${error.message}\n\n${cliHelp()}`);
    process.exit(2);
  }
  const e = UmbraError.from(error);
  console.error(`umbra-variant: ${e.message}`);
  process.exit(e.code === "invalid_argument" ? 2 : 1);
});
