import type { NatsSinkOptions } from "../sinks/nats-sink.ts";
import type { RemoteVariant } from "../variants.ts";
import type { CaptureOptions } from "./capture.ts";
import type { LaneOptions } from "./variant-lane.ts";

/** Where records go, as plain data (it crosses into the worker). */
export type SinkConfig =
  | { readonly kind: "nats"; readonly options: Omit<NatsSinkOptions, "onError"> }
  /** Kept in memory; in worker mode they are sent back to the request thread. */
  | { readonly kind: "memory"; readonly maxRecords?: number };

/** The shadow engine's configuration, as plain data so it can be sent to a worker thread. */
export interface EngineConfig {
  readonly experiment: string;
  readonly sdkInstanceId: string;
  readonly variants: Readonly<
    Record<string, { readonly remote: RemoteVariant; readonly lane: LaneOptions }>
  >;
  readonly sink: SinkConfig;
  readonly capture: CaptureOptions;
  readonly exposureIntervalMs: number;
  /** Seed of the engine's random source (reservoir sampling). */
  readonly seed: number;
  /** pino level of the engine's own log lines (role "shadow"). */
  readonly logLevel: string;
}
