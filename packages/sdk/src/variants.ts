import type { LaneOptions } from "./engine/variant-lane.ts";

/** What a local model function receives besides the input. */
export interface ModelContext {
  readonly requestId: string;
  /** Aborted when the request's deadline passes or the shadow closes. */
  readonly signal?: AbortSignal | undefined;
}

/** A model running in the serving process: only ever the live (or fallback) variant. */
export type LocalModel<I, O> = (input: I, context: ModelContext) => O | Promise<O>;

/** A variant served over the Open Inference Protocol (Triton, KServe, MLServer, OVMS, `umbra-variant`). */
export interface RemoteVariant {
  readonly kind: "oip";
  /** `host:port` of the gRPC server. */
  readonly address: string;
  /** The model name on that server. */
  readonly model: string;
  /** `stream`: one long-lived `umbra.v1.Mirror` stream (4–5× cheaper per call); `unary`: `ModelInfer`. */
  readonly transport: "unary" | "stream";
  /** Limits of the shadow path to this variant; defaults in `DEFAULT_LANE_OPTIONS`. */
  readonly lane?: Partial<Omit<LaneOptions, "breaker" | "warmup">> & {
    readonly breaker?: Partial<LaneOptions["breaker"]>;
    readonly warmup?: Partial<LaneOptions["warmup"]>;
  };
  /** Deadline of a live call to this variant, when it is promoted. Default 1 000 ms. */
  readonly liveDeadlineMs?: number;
}

/**
 * Declares a remote variant reached over the Open Inference Protocol.
 *
 * @example
 * ```ts
 * variants: { prod: predictLocally, A: oip("10.0.0.7:8001", "ranker-a", { transport: "stream" }) }
 * ```
 */
export function oip(
  address: string,
  model: string,
  options: {
    readonly transport?: "unary" | "stream";
    readonly lane?: RemoteVariant["lane"];
    readonly liveDeadlineMs?: number;
  } = {},
): RemoteVariant {
  return {
    kind: "oip",
    address,
    model,
    transport: options.transport ?? "unary",
    ...(options.lane === undefined ? {} : { lane: options.lane }),
    ...(options.liveDeadlineMs === undefined ? {} : { liveDeadlineMs: options.liveDeadlineMs }),
  };
}

/** Whether a declared variant is remote. */
export function isRemote(v: unknown): v is RemoteVariant {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "oip";
}
