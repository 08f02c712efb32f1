// The `umbra` entry point (bin/umbra.mjs runs it through tsx): the only module that touches
// process.argv, the environment and the exit code.
import { runCli } from "./program.ts";

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exitCode = code;
