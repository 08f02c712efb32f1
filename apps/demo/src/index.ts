export type { DemoArgs } from "./demo-args.ts";
export { DEMO_USAGE, parseDemoArgs } from "./demo-args.ts";
export type { DemoVariant } from "./demo-experiment.ts";
export {
  buildDemoFlagFile,
  buildDemoSpec,
  DEMO_CRITERIA,
  DEMO_EXPERIMENT,
  DEMO_VARIANTS,
} from "./demo-experiment.ts";
export type { CandidateStanding, DemoOutcome, ExpectedOutcome } from "./demo-outcome.ts";
export { judgeOutcome, standings } from "./demo-outcome.ts";
export type { RunDemoOptions } from "./run-demo.ts";
export { DemoExitCode, runDemo } from "./run-demo.ts";
export type {
  IntentAnswer,
  IntentInput,
  PredictRequest,
  ServingApp,
  ServingAppOptions,
  ServingStats,
} from "./serving-app.ts";
export { createServingApp, parsePredictRequest } from "./serving-app.ts";
export type { TrafficGenerator, TrafficOptions, TrafficStats } from "./traffic-generator.ts";
export { startTraffic } from "./traffic-generator.ts";
