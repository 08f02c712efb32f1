import { performance } from "node:perf_hooks";
import { type PairRecord, SHADOW_HEADER, UmbraError, UmbraErrorCode } from "@umbra/protocol";
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  handleAll,
  IsolatedCircuitError,
  SamplingBreaker,
} from "cockatiel";
import { ReservoirQueue } from "./reservoir-queue.ts";
import type { MirrorJob, VariantCaller } from "./types.ts";

/** Per-variant limits of the shadow path. Every field has a default; see {@link DEFAULT_LANE_OPTIONS}. */
export interface LaneOptions {
  /** Deadline of one mirrored call. */
  readonly deadlineMs: number;
  /** Calls in flight at most; more wait in the queue. */
  readonly maxInFlight: number;
  /** Calls waiting at most; beyond it the queue keeps a reservoir sample and drops the rest. */
  readonly queueSize: number;
  /** The circuit breaker: opens when the failure rate over `windowMs` reaches `failureRate`. */
  readonly breaker: {
    readonly failureRate: number;
    readonly windowMs: number;
    /** Calls per second the window needs before the rate counts. */
    readonly minimumRps: number;
    /** How long the breaker stays open before one trial call (half-open). */
    readonly halfOpenAfterMs: number;
  };
  /** Mirrors marked warm-up (excluded from latency): the first `mirrors`, and those within `ms` of the first. */
  readonly warmup: { readonly mirrors: number; readonly ms: number };
  /** How often `ModelReady` is asked; 0 never asks. */
  readonly healthIntervalMs: number;
}

/** Time a caller gets past its deadline before the lane gives up on it. */
const DEADLINE_GRACE_MS = 50;

/** The defaults: 500 ms deadline, 32 in flight, 256 queued, breaker at 50% failures over 10 s. */
export const DEFAULT_LANE_OPTIONS: LaneOptions = {
  deadlineMs: 500,
  maxInFlight: 32,
  queueSize: 256,
  breaker: { failureRate: 0.5, windowMs: 10_000, minimumRps: 1, halfOpenAfterMs: 5_000 },
  warmup: { mirrors: 0, ms: 0 },
  healthIntervalMs: 2_000,
};

/** What a lane reports for each mirror it was given: exactly once. */
export type LaneOutcome = (
  task: LaneTask,
  shadow: PairRecord["shadow"],
  facts: { readonly warmup: boolean; readonly sideEffectAttempts: number },
) => void;

/** One mirror waiting for, or in, a lane. */
export interface LaneTask {
  readonly job: MirrorJob;
  readonly variant: string;
}

/** Live counters of a lane. */
export interface LaneStats {
  readonly inFlight: number;
  readonly queued: number;
  readonly breaker: "closed" | "open" | "half_open" | "isolated";
  readonly healthy: boolean;
  readonly dispatched: number;
}

const breakerState: Record<CircuitState, LaneStats["breaker"]> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "isolated",
};

/** The admission decision for a mirror: admitted (sent or queued) or refused with a reason. */
export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly reason: string };

/**
 * The shadow path to one variant: admission (breaker, health), a bounded reservoir queue, an
 * in-flight cap, a deadline per call, never a retry. One bad variant is cut off by its own
 * breaker while the other lanes go on.
 */
export class VariantLane {
  readonly variant: string;
  private readonly options: LaneOptions;
  private readonly caller: VariantCaller;
  private readonly experiment: string;
  private readonly report: LaneOutcome;
  private readonly now: () => number;
  private readonly queue: ReservoirQueue<LaneTask>;
  private readonly breaker: CircuitBreakerPolicy;
  private inFlight = 0;
  private dispatched = 0;
  private firstDispatchAt: number | undefined;
  private healthy = true;
  private pumpScheduled = false;
  private closed = false;
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly idleWaiters = new Set<() => void>();

  constructor(args: {
    variant: string;
    experiment: string;
    options: LaneOptions;
    caller: VariantCaller;
    report: LaneOutcome;
    random: () => number;
    now: () => number;
  }) {
    this.variant = args.variant;
    this.experiment = args.experiment;
    this.options = args.options;
    this.caller = args.caller;
    this.report = args.report;
    this.now = args.now;
    this.queue = new ReservoirQueue(args.options.queueSize, args.random);
    const b = args.options.breaker;
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: b.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: b.failureRate,
        duration: b.windowMs,
        minimumRps: b.minimumRps,
      }),
    });
    if (args.options.healthIntervalMs > 0) {
      void this.checkHealth();
      this.healthTimer = setInterval(() => void this.checkHealth(), args.options.healthIntervalMs);
      this.healthTimer.unref();
    }
  }

  /** Decides synchronously whether `task` enters the lane; refused tasks are reported here too. */
  admit(task: LaneTask): Admission {
    if (this.closed)
      return this.refuse(task, "closed", { outcome: "dropped", dropReason: "closed" });
    if (this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated) {
      return this.refuse(task, "breaker_open", { outcome: "rejected_by_breaker" });
    }
    if (!this.healthy) return this.refuse(task, "unhealthy", { outcome: "skipped_unhealthy" });
    const evicted = this.queue.offer(task);
    if (evicted === task)
      return this.refuse(task, "queue_full", { outcome: "dropped", dropReason: "queue_full" });
    if (evicted !== undefined)
      this.report(
        evicted,
        { outcome: "dropped", dropReason: "queue_full" },
        { warmup: false, sideEffectAttempts: 0 },
      );
    this.schedulePump();
    return { admitted: true };
  }

  /** Counters for metrics and `stats()`. */
  stats(): LaneStats {
    return {
      inFlight: this.inFlight,
      queued: this.queue.length,
      breaker: breakerState[this.breaker.state],
      healthy: this.healthy,
      dispatched: this.dispatched,
    };
  }

  /** Stops admitting, reports what still waits as dropped, and waits for calls in flight (bounded by their deadlines). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.healthTimer !== undefined) clearInterval(this.healthTimer);
    for (const task of this.queue.drain())
      this.report(
        task,
        { outcome: "dropped", dropReason: "closed" },
        { warmup: false, sideEffectAttempts: 0 },
      );
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.add(resolve));
  }

  private refuse(task: LaneTask, reason: string, shadow: PairRecord["shadow"]): Admission {
    this.report(task, shadow, { warmup: false, sideEffectAttempts: 0 });
    return { admitted: false, reason };
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // One dispatch pass per tick per variant: everything admitted in this tick goes out together.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const task = this.queue.shift() as LaneTask;
      this.dispatch(task);
    }
  }

  private isWarmup(now: number): boolean {
    const w = this.options.warmup;
    if (this.firstDispatchAt === undefined) this.firstDispatchAt = now;
    return this.dispatched <= w.mirrors || now - this.firstDispatchAt < w.ms;
  }

  private dispatch(task: LaneTask): void {
    const input = task.job.input;
    if (input === null) {
      this.report(
        task,
        { outcome: "dropped", dropReason: task.job.dropReason ?? "input_unavailable" },
        { warmup: false, sideEffectAttempts: 0 },
      );
      return;
    }
    this.inFlight++;
    let started = 0;
    let warmup = false;
    const metadata: Record<string, string> = { ...task.job.headers, [SHADOW_HEADER]: "1" };
    this.breaker
      .execute(() => {
        this.dispatched++;
        warmup = this.isWarmup(this.now());
        started = performance.now();
        const call = this.caller.call({
          requestId: task.job.requestId,
          experiment: this.experiment,
          variant: this.variant,
          input,
          metadata,
          deadlineMs: this.options.deadlineMs,
        });
        // A caller is asked to honour the deadline; this guard makes sure a hanging one cannot
        // hold an in-flight slot (or the mirror's record) past it.
        let guard: NodeJS.Timeout | undefined;
        const expired = new Promise<never>((_, reject) => {
          guard = setTimeout(
            () =>
              reject(
                new UmbraError(
                  UmbraErrorCode.DeadlineExceeded,
                  `no answer within ${this.options.deadlineMs} ms`,
                ),
              ),
            this.options.deadlineMs + DEADLINE_GRACE_MS,
          );
        });
        return Promise.race([call, expired]).finally(() => clearTimeout(guard));
      })
      .then(
        (answer) => {
          const latencyMs = performance.now() - started;
          this.report(
            task,
            {
              outcome: "ok",
              output: answer.output,
              latencyMs,
              ...(answer.cacheHit === undefined ? {} : { cacheHit: answer.cacheHit }),
            },
            { warmup, sideEffectAttempts: answer.sideEffectAttempts },
          );
        },
        (reason: unknown) => {
          if (reason instanceof BrokenCircuitError || reason instanceof IsolatedCircuitError) {
            this.report(
              task,
              { outcome: "rejected_by_breaker" },
              { warmup: false, sideEffectAttempts: 0 },
            );
            return;
          }
          const latencyMs = performance.now() - started;
          const err = UmbraError.from(reason);
          if (err.code === UmbraErrorCode.DeadlineExceeded) {
            this.report(task, { outcome: "timeout", latencyMs }, { warmup, sideEffectAttempts: 0 });
          } else {
            this.report(
              task,
              {
                outcome: "error",
                latencyMs,
                error: { code: err.code, message: err.message.slice(0, 2_000) },
              },
              { warmup, sideEffectAttempts: 0 },
            );
          }
        },
      )
      .finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.schedulePump();
        if (this.inFlight === 0) {
          for (const resolve of this.idleWaiters) resolve();
          this.idleWaiters.clear();
        }
      });
  }

  private async checkHealth(): Promise<void> {
    try {
      this.healthy = await this.caller.isReady();
    } catch {
      this.healthy = false;
    }
  }
}
