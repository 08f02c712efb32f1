export type {
  RequestContext,
  Shadow,
  ShadowOptions,
  ShadowRequest,
  ShadowStats,
} from "./create-shadow.ts";
export { createShadow, encodeInput } from "./create-shadow.ts";
export type { CaptureOptions } from "./engine/capture.ts";
export type { EngineStats } from "./engine/shadow-engine.ts";
export type {
  EncodedInput,
  MirrorAnswer,
  MirrorCall,
  RecordSink,
  SinkStats,
  VariantCaller,
} from "./engine/types.ts";
export type { LaneOptions } from "./engine/variant-lane.ts";
export { DEFAULT_LANE_OPTIONS } from "./engine/variant-lane.ts";
export type { FlagSource } from "./flags/flag-client.ts";
export type { MemorySink } from "./sinks/memory-sink.ts";
export { createMemorySink } from "./sinks/memory-sink.ts";
export type { NatsSinkOptions } from "./sinks/nats-sink.ts";
export { createNatsSink } from "./sinks/nats-sink.ts";
export type { LocalModel, ModelContext, RemoteVariant } from "./variants.ts";
export { oip } from "./variants.ts";
