// The serving app's composition root, run by the demo as its own process:
//   node --conditions=@umbra/source --import tsx apps/demo/src/serving-main.ts
// It is what a team's model-serving service looks like with Umbra: one createShadow, one run()
// per request. Prints "serving app listening on <url>" once it serves.
import { createServer } from "node:http";
import { UmbraError } from "@umbra/protocol";
import { createShadow, oip } from "@umbra/sdk";
import { createServingApp, type IntentAnswer, type IntentInput } from "./serving-app.ts";
import { loadServingConfig } from "./serving-config.ts";

async function main(): Promise<void> {
  const config = loadServingConfig(process.env);
  const shadow = await createShadow<IntentInput, IntentAnswer>({
    experiment: config.experiment,
    flags: { flagd: config.flagd },
    nats: { servers: config.natsUrl },
    defaultVariant: config.defaultVariant,
    variants: Object.fromEntries(
      Object.entries(config.variants).map(([name, address]) => [
        name,
        oip(address, config.model, { transport: "stream" }),
      ]),
    ),
    segmentBy: ["device", "region"],
    // A shadow call may take a second before it counts as a timeout: on two shared cores a busy
    // moment must not look like a model failing. Latency is judged against the spec's budget.
    lane: { deadlineMs: 1_000 },
    // Scalars of the input the collector ties to divergence ("top feature" in the report).
    features: (input) => ({ device: String(input.device), region: String(input.region) }),
    // Keep the input on pair records, so divergent examples can be read back and exported.
    capture: { mode: "full" },
    // Short windows: the demo's stages hold for seconds, and the traffic split is judged from these.
    exposureIntervalMs: 1_000,
    initTimeoutMs: 10_000,
  });
  const app = createServingApp({ shadow });
  const server = createServer({ keepAliveTimeout: 30_000 }, app.handler);
  await new Promise<void>((resolve) => server.listen(config.httpPort, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  console.log(`serving app listening on http://127.0.0.1:${port}`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.closeIdleConnections();
    server.close();
    // close() publishes the records of mirrors already answered before the process goes.
    shadow.close(5_000).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`serving app: close failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  const e = UmbraError.from(error);
  console.error(`serving app: ${e.message}`);
  process.exit(e.code === "invalid_argument" ? 2 : 1);
});
