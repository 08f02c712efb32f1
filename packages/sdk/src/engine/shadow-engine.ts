import type { PairRecord } from "@umbra/protocol";
import { type CaptureOptions, captureInput } from "./capture.ts";
import { ExposureCounter } from "./exposure-counter.ts";
import type { MirrorJob, RecordSink, RequestCount, SinkStats, VariantCaller } from "./types.ts";
import { type LaneOptions, type LaneStats, type LaneTask, VariantLane } from "./variant-lane.ts";

/** Everything the shadow engine needs; plain data except the callers, sink, clock and random source. */
export interface ShadowEngineOptions {
  readonly experiment: string;
  readonly sdkInstanceId: string;
  readonly lanes: Readonly<
    Record<string, { readonly options: LaneOptions; readonly caller: VariantCaller }>
  >;
  readonly sink: RecordSink;
  readonly capture: CaptureOptions;
  readonly exposureIntervalMs: number;
  readonly now: () => number;
  readonly random: () => number;
  /** Called with internal failures that were contained (never thrown into anything). */
  readonly onInternalError?: (error: unknown) => void;
}

/** Outcome counts per variant, plus lane and sink counters. */
export interface EngineStats {
  readonly jobs: number;
  readonly outcomes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly lanes: Readonly<Record<string, LaneStats>>;
  readonly sink: SinkStats;
  readonly internalErrors: number;
}

/** The shadow engine: runs in a worker thread (default) or inline on the request thread. */
export interface ShadowEngine {
  /** Takes the shadow work of requests whose users already have their answers. */
  submit(jobs: readonly MirrorJob[]): void;
  /** Adds request counts from the request thread to the current exposure window. */
  countRequests(counts: readonly RequestCount[]): void;
  stats(): EngineStats;
  /** Resolves true once nothing is queued, in flight or unpublished (false after `timeoutMs`). */
  settle(timeoutMs: number): Promise<boolean>;
  /** Drops what waits, finishes calls in flight, publishes the last exposure window, flushes the sink. */
  close(flushTimeoutMs: number): Promise<void>;
}

/**
 * Builds the shadow engine: one {@link VariantLane} per shadow variant, exactly one pair record
 * per planned mirror, exposure windows every `exposureIntervalMs`.
 */
export function createShadowEngine(o: ShadowEngineOptions): ShadowEngine {
  const exposure = new ExposureCounter(o.experiment, o.sdkInstanceId, o.now());
  const outcomes: Record<string, Record<string, number>> = {};
  let jobs = 0;
  let internalErrors = 0;
  let closed = false;
  const contain = (error: unknown) => {
    internalErrors++;
    try {
      o.onInternalError?.(error);
    } catch {
      // A failing error hook must not take the engine down either.
    }
  };

  const captures = new WeakMap<MirrorJob, PairRecord["input"]>();
  const captureOf = (job: MirrorJob): PairRecord["input"] => {
    let c = captures.get(job);
    if (c === undefined) {
      c = job.input === null ? { capture: "none" } : captureInput(job.input, o.capture);
      captures.set(job, c);
    }
    return c;
  };

  const report = (
    task: LaneTask,
    shadow: PairRecord["shadow"],
    facts: { warmup: boolean; sideEffectAttempts: number },
  ) => {
    try {
      const { job, variant } = task;
      let byOutcome = outcomes[variant];
      if (byOutcome === undefined) {
        byOutcome = {};
        outcomes[variant] = byOutcome;
      }
      byOutcome[shadow.outcome] = (byOutcome[shadow.outcome] ?? 0) + 1;
      const p = job.production;
      const production: PairRecord["production"] = { latencyMs: p.latencyMs };
      if (p.output !== undefined) production.output = p.output;
      if (p.error !== undefined) production.error = p.error;
      if (p.cacheHit !== undefined) production.cacheHit = p.cacheHit;
      const record: PairRecord = {
        schema: 1,
        kind: "pair",
        requestId: job.requestId,
        experiment: o.experiment,
        variant,
        liveVariant: job.live,
        flag: { variant: job.flagVariant, reason: job.reason, revision: job.revision },
        stage: job.stage,
        sampleBasisPoints: job.sampleBasisPoints[variant] ?? 10_000,
        requestTimestampMs: job.requestTimestampMs,
        segment: job.segment as Record<string, string>,
        input: captureOf(job),
        production,
        shadow,
        warmup: facts.warmup,
        sideEffectAttempts: facts.sideEffectAttempts,
        sdkInstanceId: o.sdkInstanceId,
      };
      if (job.specHash !== undefined) record.specHash = job.specHash;
      if (job.features !== undefined)
        record.features = job.features as Record<string, number | string | boolean>;
      o.sink.publishPair(record);
    } catch (error) {
      contain(error);
    }
  };

  const lanes = new Map<string, VariantLane>();
  for (const [variant, { options, caller }] of Object.entries(o.lanes)) {
    lanes.set(
      variant,
      new VariantLane({
        variant,
        experiment: o.experiment,
        options,
        caller,
        report,
        random: o.random,
        now: o.now,
      }),
    );
  }

  const flushExposure = () => {
    try {
      const record = exposure.flush(o.now());
      if (record !== undefined) o.sink.publishExposure(record);
    } catch (error) {
      contain(error);
    }
  };
  const exposureTimer = setInterval(flushExposure, o.exposureIntervalMs);
  exposureTimer.unref();

  return {
    submit(batch) {
      for (const job of batch) {
        jobs++;
        for (const variant of job.mirror) {
          const task: LaneTask = { job, variant };
          let refused: string | undefined;
          try {
            const lane = lanes.get(variant);
            if (closed) {
              refused = "closed";
              report(
                task,
                { outcome: "dropped", dropReason: "closed" },
                { warmup: false, sideEffectAttempts: 0 },
              );
            } else if (lane === undefined) {
              refused = "not_configured";
              report(
                task,
                {
                  outcome: "error",
                  error: {
                    code: "not_configured",
                    message: `variant "${variant}" is in the flag but not among the SDK's variants`,
                  },
                },
                { warmup: false, sideEffectAttempts: 0 },
              );
            } else if (job.input === null) {
              refused = job.dropReason ?? "input_unavailable";
              report(
                task,
                { outcome: "dropped", dropReason: refused },
                { warmup: false, sideEffectAttempts: 0 },
              );
            } else {
              const admission = lane.admit(task);
              if (!admission.admitted) refused = admission.reason;
            }
          } catch (error) {
            contain(error);
          }
          exposure.addMirror(job.flagVariant, job.segment, variant, refused);
        }
      }
    },
    countRequests(counts) {
      for (const c of counts) exposure.addRequests(c.plan, c.segment, c.requests);
    },
    stats() {
      return {
        jobs,
        outcomes: structuredClone(outcomes),
        lanes: Object.fromEntries([...lanes].map(([v, lane]) => [v, lane.stats()])),
        sink: o.sink.stats(),
        internalErrors,
      };
    },
    async settle(timeoutMs) {
      const deadline = o.now() + timeoutMs;
      for (;;) {
        const sink = o.sink.stats();
        const busy = [...lanes.values()].some((lane) => {
          const st = lane.stats();
          return st.inFlight > 0 || st.queued > 0;
        });
        if (!busy && sink.buffered === 0 && sink.pendingAcks === 0) return true;
        if (o.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close(flushTimeoutMs) {
      // Mirrors already handed over still go out (within half the budget); then what waits is
      // dropped as "closed", and the rest of the budget flushes the records.
      await this.settle(Math.floor(flushTimeoutMs / 2));
      closed = true;
      clearInterval(exposureTimer);
      await Promise.all([...lanes.values()].map((lane) => lane.close()));
      flushExposure();
      await o.sink.flush(flushTimeoutMs);
      await o.sink.close();
      await Promise.allSettled(Object.values(o.lanes).map(({ caller }) => caller.close()));
    },
  };
}
