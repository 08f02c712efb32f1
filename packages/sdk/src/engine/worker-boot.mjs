// Loads the engine worker from TypeScript sources (development, tests, the demo). A build ships
// worker-main.js and the worker starts from it directly.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.__umbraEntry);
