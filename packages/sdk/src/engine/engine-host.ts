import { Worker } from "node:worker_threads";
import type { ExposureRecord, PairRecord } from "@umbra/protocol";
import type { Logger } from "pino";
import { buildEngine, type CallerFactory } from "./build-engine.ts";
import type { EngineConfig } from "./engine-config.ts";
import type { EngineStats, ShadowEngine } from "./shadow-engine.ts";
import type { MirrorJob, RecordSink, RequestCount } from "./types.ts";
import type { FromWorker, ToWorker } from "./worker-messages.ts";

/** The request thread's handle on the shadow engine, wherever it runs. */
export interface EngineHost {
  submit(jobs: readonly MirrorJob[]): void;
  countRequests(counts: readonly RequestCount[]): void;
  /** Jobs handed over and not yet taken by the engine. */
  outstanding(): number;
  /** The engine's latest counters (a snapshot at most 250 ms old in worker mode). */
  stats(): EngineStats | undefined;
  settle(timeoutMs: number): Promise<boolean>;
  close(timeoutMs: number): Promise<void>;
  /** Resolves when the engine can take work (at once inline; when the worker has loaded), or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Records of an in-memory sink, when the engine uses one. */
  readonly records:
    | { readonly pairs: PairRecord[]; readonly exposures: ExposureRecord[] }
    | undefined;
}

/** Runs the engine on the request thread (simple; its gRPC and NATS work shares the event loop). */
export function createInlineHost(
  config: EngineConfig,
  deps: { readonly callerFor: CallerFactory; readonly logger: Logger; readonly sink?: RecordSink },
): EngineHost {
  const { engine, memory } = buildEngine(config, deps);
  return {
    submit: (jobs) => engine.submit(jobs),
    countRequests: (counts) => engine.countRequests(counts),
    outstanding: () => 0,
    ready: async () => true,
    stats: () => engine.stats(),
    settle: (t) => engine.settle(t),
    close: (t) => engine.close(t),
    records:
      memory === undefined ? undefined : { pairs: memory.pairs, exposures: memory.exposures },
  };
}

/**
 * Runs the engine in a worker thread: the request thread only posts plain data, once per tick.
 * If the worker dies, it is restarted (at most once per `restartBackoffMs`); mirrors handed over
 * meanwhile are counted as lost in `lostJobs`, never thrown anywhere.
 */
export function createWorkerHost(
  config: EngineConfig,
  deps: { readonly logger: Logger; readonly restartBackoffMs?: number },
): EngineHost & { lostJobs(): number } {
  const log = deps.logger;
  const records =
    config.sink.kind === "memory"
      ? { pairs: [] as PairRecord[], exposures: [] as ExposureRecord[] }
      : undefined;
  let worker: Worker | undefined;
  let outstanding = 0;
  let lost = 0;
  let last: EngineStats | undefined;
  let closing = false;
  let settleIds = 0;
  const settles = new Map<number, (ok: boolean) => void>();
  let closed: (() => void) | undefined;
  let isReady = false;
  const readyWaiters = new Set<() => void>();

  const start = () => {
    const w = spawn(config);
    w.unref();
    w.on("message", (m: FromWorker) => {
      switch (m.t) {
        case "ready":
          isReady = true;
          for (const resolve of readyWaiters) resolve();
          readyWaiters.clear();
          break;
        case "ack":
          outstanding = Math.max(0, outstanding - m.count);
          break;
        case "stats":
          last = m.stats;
          break;
        case "settled":
          settles.get(m.id)?.(m.ok);
          settles.delete(m.id);
          break;
        case "records":
          if (records !== undefined) {
            records.pairs.push(...m.pairs);
            records.exposures.push(...m.exposures);
          }
          break;
        case "closed":
          closed?.();
          break;
      }
    });
    w.on("error", (error) =>
      log.error({ err: error, role: "shadow" }, "shadow engine worker failed"),
    );
    w.on("exit", (code) => {
      if (worker !== w) return;
      worker = undefined;
      lost += outstanding;
      outstanding = 0;
      for (const resolve of settles.values()) resolve(false);
      settles.clear();
      if (closing) {
        closed?.();
        return;
      }
      log.error({ code, role: "shadow" }, "shadow engine worker exited; restarting");
      setTimeout(() => {
        if (!closing && worker === undefined) worker = start();
      }, deps.restartBackoffMs ?? 1_000).unref();
    });
    return w;
  };
  worker = start();

  const post = (m: ToWorker): boolean => {
    if (worker === undefined) return false;
    try {
      worker.postMessage(m);
      return true;
    } catch (error) {
      log.warn({ err: error, role: "shadow" }, "could not hand shadow work to the engine");
      return false;
    }
  };

  return {
    submit(jobs) {
      if (worker === undefined) {
        lost += jobs.length;
        return;
      }
      // Throws (DataCloneError) when a job holds something that cannot cross; the caller handles it.
      worker.postMessage({ t: "jobs", jobs } satisfies ToWorker);
      outstanding += jobs.length;
    },
    countRequests(counts) {
      post({ t: "requests", counts });
    },
    outstanding: () => outstanding,
    ready(timeoutMs) {
      if (isReady) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          readyWaiters.delete(done);
          resolve(false);
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        readyWaiters.add(done);
      });
    },
    stats: () => last,
    lostJobs: () => lost,
    settle(timeoutMs) {
      const id = ++settleIds;
      return new Promise<boolean>((resolve) => {
        settles.set(id, resolve);
        if (!post({ t: "settle", id, timeoutMs })) {
          settles.delete(id);
          resolve(false);
        }
      });
    },
    async close(timeoutMs) {
      closing = true;
      const w = worker;
      if (w === undefined) return;
      const done = new Promise<void>((resolve) => (closed = resolve));
      post({ t: "close", timeoutMs });
      const timer = setTimeout(() => void w.terminate(), timeoutMs + 2_000);
      await done;
      clearTimeout(timer);
      await w.terminate();
    },
    records,
  };
}

function spawn(config: EngineConfig): Worker {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    // Running from TypeScript sources: boot the worker through tsx, with our source condition.
    return new Worker(new URL("./worker-boot.mjs", here), {
      workerData: { ...config, __umbraEntry: new URL("./worker-main.ts", here).href },
      execArgv: ["--conditions=@umbra/source"],
    });
  }
  return new Worker(new URL("./worker-main.js", here), { workerData: config });
}

export type { ShadowEngine };
