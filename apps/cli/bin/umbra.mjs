#!/usr/bin/env node
// `umbra` without a build: re-runs Node on the TypeScript sources, with the workspace's source
// condition and tsx as the loader, forwarding arguments, stdio, signals and the exit code.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));

function resolveTsx() {
  // tsx is a root devDependency; resolve it from this file so any working directory works.
  try {
    return import.meta.resolve("tsx");
  } catch {
    try {
      return pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    } catch {
      process.stderr.write("umbra: cannot find tsx; run `npm install` at the repository root.\n");
      process.exit(1);
    }
  }
}

const child = spawn(
  process.execPath,
  ["--conditions=@umbra/source", "--import", resolveTsx(), main, ...process.argv.slice(2)],
  { stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => {
  process.stderr.write(`umbra: could not start node: ${error.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal !== null) {
    // Die of the same signal, so the shell sees what the child saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
