import type { Logger } from "pino";
import { createMemorySink, type MemorySink } from "../sinks/memory-sink.ts";
import { createNatsSink } from "../sinks/nats-sink.ts";
import type { RemoteVariant } from "../variants.ts";
import type { EngineConfig } from "./engine-config.ts";
import { seededRandom } from "./random.ts";
import { createShadowEngine, type ShadowEngine } from "./shadow-engine.ts";
import type { RecordSink, VariantCaller } from "./types.ts";

/** How the engine reaches remote variants; the SDK's default is the Open Inference Protocol caller. */
export type CallerFactory = (variant: string, remote: RemoteVariant) => VariantCaller;

/** Builds the shadow engine from its plain-data configuration, on whichever thread runs it. */
export function buildEngine(
  config: EngineConfig,
  deps: { readonly callerFor: CallerFactory; readonly logger: Logger; readonly sink?: RecordSink },
): { readonly engine: ShadowEngine; readonly memory: MemorySink | undefined } {
  const log = deps.logger;
  let memory: MemorySink | undefined;
  let sink = deps.sink;
  if (sink === undefined) {
    if (config.sink.kind === "memory") {
      memory = createMemorySink(
        config.sink.maxRecords === undefined ? {} : { maxRecords: config.sink.maxRecords },
      );
      sink = memory;
    } else {
      sink = createNatsSink({
        ...config.sink.options,
        onError: (error, context) => log.warn({ err: error, context }, "record sink: %s", context),
      });
    }
  }
  const lanes = Object.fromEntries(
    Object.entries(config.variants).map(([variant, { remote, lane }]) => [
      variant,
      { options: lane, caller: deps.callerFor(variant, remote) },
    ]),
  );
  const engine = createShadowEngine({
    experiment: config.experiment,
    sdkInstanceId: config.sdkInstanceId,
    lanes,
    sink,
    capture: config.capture,
    exposureIntervalMs: config.exposureIntervalMs,
    now: Date.now,
    random: seededRandom(config.seed),
    onInternalError: (error) =>
      log.error({ err: error }, "shadow engine contained an internal error"),
  });
  return { engine, memory };
}
