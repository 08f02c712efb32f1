import type { ExposureRecord, PairRecord } from "@umbra/protocol";

/** The request input, encoded once on the request thread and shared by every mirror. */
export interface EncodedInput {
  /** `f32`: a numeric feature vector as little-endian float32 bytes; `msgpack`: anything else. */
  readonly kind: "f32" | "msgpack";
  readonly bytes: Uint8Array;
}

/** A failure, as it goes on a record. */
export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
}

/** What the production side produced for a request. */
export interface ProductionResult {
  readonly output?: unknown;
  readonly latencyMs: number;
  readonly error?: ErrorInfo;
  readonly cacheHit?: boolean;
  /** The live variant failed and the fallback answered; `output` is the fallback's. */
  readonly fallbackFrom?: string;
}

/**
 * One request's shadow work, handed from the request thread to the shadow engine after the user
 * has their answer. Plain data, so it crosses a worker boundary by structured clone.
 */
export interface MirrorJob {
  readonly requestId: string;
  readonly requestTimestampMs: number;
  readonly live: string;
  readonly mirror: readonly string[];
  readonly flagVariant: string;
  readonly reason: string;
  readonly revision: number;
  readonly stage: string;
  readonly specHash?: string | undefined;
  readonly sampleBasisPoints: Readonly<Record<string, number>>;
  /** `null` when the input could not be encoded or the engine was backlogged: the mirrors are dropped. */
  readonly input: EncodedInput | null;
  /** Why `input` is null. */
  readonly dropReason?: string | undefined;
  readonly segment: Readonly<Record<string, string>>;
  readonly features?: Readonly<Record<string, number | string | boolean>> | undefined;
  /** Headers to forward to the shadow (already stripped of credentials). */
  readonly headers: Readonly<Record<string, string>>;
  readonly production: ProductionResult;
}

/** Request counts per (plan, segment), counted on the request thread. */
export interface RequestCount {
  readonly plan: string;
  readonly segment: Readonly<Record<string, string>>;
  readonly requests: number;
}

/** One mirrored call as a variant caller sees it. */
export interface MirrorCall {
  readonly requestId: string;
  readonly experiment: string;
  readonly variant: string;
  readonly input: EncodedInput;
  /** gRPC metadata: the shadow marker, the request id, forwarded headers. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly deadlineMs: number;
}

/** A shadow's answer. */
export interface MirrorAnswer {
  readonly output: unknown;
  readonly sideEffectAttempts: number;
  readonly cacheHit?: boolean | undefined;
}

/**
 * How the engine reaches one shadow variant. The SDK ships an Open Inference Protocol caller;
 * tests can pass their own. A call rejects with an `UmbraError`: `deadline_exceeded` is recorded
 * as a timeout, anything else as an error. Callers never retry.
 */
export interface VariantCaller {
  call(call: MirrorCall): Promise<MirrorAnswer>;
  /** Whether the variant says it can serve (OIP `ModelReady`). */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/** Counters a record sink keeps. */
export interface SinkStats {
  readonly published: number;
  readonly buffered: number;
  readonly pendingAcks: number;
  readonly droppedBufferFull: number;
  readonly invalid: number;
  readonly publishFailures: number;
}

/**
 * Where pair and exposure records go. `publish*` never throws and never blocks: a sink buffers
 * up to its bound and counts what it drops. The SDK ships a NATS JetStream sink and an
 * in-memory one.
 */
export interface RecordSink {
  publishPair(record: PairRecord): void;
  publishExposure(record: ExposureRecord): void;
  stats(): SinkStats;
  /** Waits until everything buffered is acknowledged, or `timeoutMs` passes. */
  flush(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
