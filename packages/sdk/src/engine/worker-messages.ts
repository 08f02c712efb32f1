import type { ExposureRecord, PairRecord } from "@umbra/protocol";
import type { EngineStats } from "./shadow-engine.ts";
import type { MirrorJob, RequestCount } from "./types.ts";

/** Messages from the request thread to the engine worker. */
export type ToWorker =
  | { readonly t: "jobs"; readonly jobs: readonly MirrorJob[] }
  | { readonly t: "requests"; readonly counts: readonly RequestCount[] }
  | { readonly t: "settle"; readonly id: number; readonly timeoutMs: number }
  | { readonly t: "close"; readonly timeoutMs: number };

/** Messages from the engine worker to the request thread. */
export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "ack"; readonly count: number }
  | { readonly t: "stats"; readonly stats: EngineStats }
  | { readonly t: "settled"; readonly id: number; readonly ok: boolean }
  | {
      readonly t: "records";
      readonly pairs: readonly PairRecord[];
      readonly exposures: readonly ExposureRecord[];
    }
  | { readonly t: "closed" };
