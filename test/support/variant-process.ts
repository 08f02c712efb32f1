// A variant server in its own process, for tests that kill it mid-run. Prints "listening <port>".
import { serveVariant } from "@umbra/variant";
import { score } from "./model.ts";

const server = await serveVariant({ models: { model: (f: Float32Array) => score(f) }, port: 0 });
process.stdout.write(`listening ${server.port}\n`);
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
