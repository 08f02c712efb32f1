// The collector's composition root: the only module that reads the environment, connects,
// listens and handles signals. Run it with
//   node --conditions=@umbra/source --import tsx apps/collector/src/main.ts
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { CollectorError } from "./collector-error.ts";
import { loadConfig } from "./config.ts";
import { createCollector } from "./create-collector.ts";
import { serveHttp } from "./http/serve-http.ts";
import { loadSpecFiles } from "./specs/spec-registry.ts";

const SHUTDOWN_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  let specs: Awaited<ReturnType<typeof loadSpecFiles>>;
  try {
    config = loadConfig(process.env);
    specs = await loadSpecFiles(config.specPaths);
  } catch (error) {
    const e = CollectorError.from(error);
    process.stderr.write(`umbra collector: configuration error: ${e.message}\n`);
    process.exit(2);
  }
  const logger = pino(
    { level: config.logLevel, base: { replica: config.replicaId } },
    pino.destination(2),
  );
  const nc = await connect({
    servers: [...config.natsServers],
    name: `umbra-collector-${config.replicaId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const collector = createCollector({ nc, config, specs, logger });
  try {
    await collector.start();
  } catch (error) {
    const e = CollectorError.from(error);
    if (e.code !== "invalid_argument") throw error;
    // An invalid flag file at start is a configuration problem like a bad variable.
    process.stderr.write(`umbra collector: configuration error: UMBRA_FLAG_FILE: ${e.message}\n`);
    await nc.close();
    process.exit(2);
  }
  const http = await serveHttp(collector.handler, { host: config.httpHost, port: config.httpPort });
  logger.info(
    {
      url: http.url,
      flagSync: collector.flagSyncAddress(),
      flagFile: config.flagFile,
      readOnly: config.adminToken === null,
    },
    "listening",
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error("shutdown did not finish in time; exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    (async () => {
      await http.close();
      await collector.close();
      await nc.drain();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `umbra collector: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
