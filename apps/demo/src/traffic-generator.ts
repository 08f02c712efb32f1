import { Agent, request as httpRequest } from "node:http";
import { performance } from "node:perf_hooks";
import { UmbraError } from "@umbra/protocol";
import { createTrafficSource, type DeviceMix, type RegionMix } from "@umbra/testing";

/** Options of {@link startTraffic}. */
export interface TrafficOptions {
  /** The serving app's base URL (`http://127.0.0.1:8080`); requests go to `POST <url>/predict`. */
  readonly url: string;
  /** Steady request rate. */
  readonly ratePerSecond: number;
  /** The rate climbs linearly from 0 to `ratePerSecond` over this long, so cold servers are not flooded. Default 0. */
  readonly rampMs?: number;
  /** Seed of the request stream: the same seed sends the same requests. */
  readonly seed: number | string;
  readonly devices?: DeviceMix;
  readonly regions?: RegionMix;
  /** Requests waiting for their answer at most; a request due beyond it is skipped and counted. Default 256. */
  readonly maxInFlight?: number;
  /** A request without an answer after this long counts as failed. Default 5 000 ms. */
  readonly requestTimeoutMs?: number;
}

/** Counters of a traffic generator. */
export interface TrafficStats {
  /** Requests sent. */
  readonly sent: number;
  /** Answered with 200. */
  readonly ok: number;
  /** Answered with another status, timed out or failed to connect. */
  readonly failed: number;
  /** Due but not sent because `maxInFlight` requests were waiting. */
  readonly skipped: number;
  readonly inFlight: number;
  /** Requests sent per second over the last few seconds. */
  readonly recentRatePerSecond: number;
  /** p50 and p99 of the last answers' round trips, ms; `null` before any. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** The first failure's message, if any, for diagnosis. */
  readonly firstFailure: string | undefined;
}

/** A running traffic generator. */
export interface TrafficGenerator {
  stats(): TrafficStats;
  /** Stops sending and waits (up to `timeoutMs`, default 5 000) for the answers in flight. */
  stop(timeoutMs?: number): Promise<void>;
}

const TICK_MS = 10;
const LATENCY_WINDOW = 2_048;
const RATE_WINDOW_MS = 3_000;

/**
 * How many ms of full-rate traffic are due `t` ms after the start when the rate climbs linearly
 * over `rampMs`: the area under the rate curve, divided by the full rate.
 */
export function dueMs(t: number, rampMs: number): number {
  if (t <= 0) return 0;
  if (rampMs <= 0) return t;
  return t < rampMs ? (t * t) / (2 * rampMs) : t - rampMs / 2;
}

/** The value at quantile `q` of unsorted numbers; `null` for none. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

/**
 * Starts sending seeded requests (`createTrafficSource`) to the serving app at a steady rate:
 * every tick sends what the rate says is due, so a slow tick catches up instead of drifting.
 * In-flight requests are bounded; what the bound refuses is counted as skipped.
 *
 * @example
 * ```ts
 * const traffic = startTraffic({ url: servingApp.url, ratePerSecond: 200, seed: 1 });
 * // …
 * await traffic.stop();
 * ```
 */
export function startTraffic(options: TrafficOptions): TrafficGenerator {
  if (!(options.ratePerSecond > 0 && options.ratePerSecond <= 10_000)) {
    throw UmbraError.invalid("ratePerSecond", "must be a number in (0, 10000]");
  }
  const rampMs = options.rampMs ?? 0;
  if (!(rampMs >= 0 && rampMs <= 600_000)) {
    throw UmbraError.invalid("rampMs", "must be a number of ms in [0, 600000]");
  }
  const maxInFlight = options.maxInFlight ?? 256;
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const target = new URL("/predict", options.url);
  const source = createTrafficSource({
    seed: options.seed,
    input: "features",
    ...(options.devices === undefined ? {} : { devices: options.devices }),
    ...(options.regions === undefined ? {} : { regions: options.regions }),
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  let firstFailure: string | undefined;
  const latencies: number[] = [];
  let latencyNext = 0;
  const sendTimes: number[] = [];
  let idle: (() => void) | undefined;

  const fail = (message: string) => {
    failed++;
    firstFailure ??= message;
  };
  const finish = () => {
    inFlight--;
    if (inFlight === 0) idle?.();
  };

  const sendOne = () => {
    const r = source.next();
    const body = JSON.stringify({
      requestId: r.requestId,
      features: r.input.features,
      userId: r.context.userId,
      device: r.context.device,
      region: r.context.region,
    });
    const started = performance.now();
    inFlight++;
    sent++;
    const req = httpRequest(
      target,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) {
            ok++;
            latencies[latencyNext] = performance.now() - started;
            latencyNext = (latencyNext + 1) % LATENCY_WINDOW;
          } else {
            fail(`HTTP ${res.statusCode} from ${target.href}`);
          }
          finish();
        });
        res.on("error", (error) => {
          fail(error.message);
          finish();
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error) => {
      fail(`${target.href}: ${error.message}`);
      finish();
    });
    req.end(body);
  };

  const startedMs = performance.now();
  let due = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const shouldHaveSent = Math.floor(
      (dueMs(now - startedMs, rampMs) * options.ratePerSecond) / 1_000,
    );
    const n = shouldHaveSent - due;
    due = shouldHaveSent;
    for (let i = 0; i < n; i++) {
      if (inFlight >= maxInFlight) {
        skipped++;
        continue;
      }
      sendOne();
    }
    if (n > 0) sendTimes.push(now, n);
    while (sendTimes.length > 0 && (sendTimes[0] ?? now) < now - RATE_WINDOW_MS)
      sendTimes.splice(0, 2);
  }, TICK_MS);

  return {
    stats() {
      let recent = 0;
      for (let i = 1; i < sendTimes.length; i += 2) recent += sendTimes[i] ?? 0;
      const elapsed = Math.min(RATE_WINDOW_MS, performance.now() - startedMs);
      return {
        sent,
        ok,
        failed,
        skipped,
        inFlight,
        recentRatePerSecond: elapsed > 0 ? (recent * 1_000) / elapsed : 0,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        firstFailure,
      };
    },
    async stop(stopTimeoutMs = 5_000) {
      clearInterval(timer);
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, stopTimeoutMs);
          idle = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      agent.destroy();
    },
  };
}
