// `npm run demo`: the composition root of the demo — arguments, signals, exit code. The demo
// itself (stack, traffic, decisions, report) is runDemo in run-demo.ts.
import { UmbraError } from "@umbra/protocol";
import { DEMO_USAGE, parseDemoArgs } from "./demo-args.ts";
import { DemoExitCode, runDemo } from "./run-demo.ts";

function parse() {
  try {
    return parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`demo: ${UmbraError.from(error).message}\n\n${DEMO_USAGE}\n`);
    process.exit(DemoExitCode.usage);
  }
}

const args = parse();
if (args.help) {
  process.stdout.write(`${DEMO_USAGE}\n`);
} else {
  const controller = new AbortController();
  let interrupts = 0;
  const interrupt = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\n${signal}: stopping everything (again to kill it all at once)…\n`);
      controller.abort();
      return;
    }
    // The exit hook of child-process.ts SIGKILLs every child still running.
    process.exit(DemoExitCode.interrupted);
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  const code = await runDemo({ args, io: { stdout: process.stdout }, signal: controller.signal });
  process.exitCode = code;
  // Let stdout drain on its own; a stray handle must not keep the demo alive afterwards.
  setTimeout(() => process.exit(code), 2_000).unref();
}
