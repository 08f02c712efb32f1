#!/usr/bin/env node
// `umbra-variant`: runs src/main.ts without a build step — a child Node process with tsx's loader
// and the `@umbra/source` export condition, so sibling packages resolve to their TypeScript
// sources. Arguments, stdio, signals and the exit code pass straight through.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
let tsx;
try {
  // Resolved from this file, not the caller's directory, so the bin works from anywhere.
  tsx = import.meta.resolve("tsx");
} catch {
  console.error(
    "umbra-variant: cannot find tsx, a devDependency of the Umbra workspace; run npm install",
  );
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ["--conditions=@umbra/source", "--import", tsx, main, ...process.argv.slice(2)],
  { stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGUSR2"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => {
  console.error(`umbra-variant: cannot start node: ${error.message}`);
  process.exitCode = 1;
});
child.on("exit", (code, signal) => {
  process.exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
});
