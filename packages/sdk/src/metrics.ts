import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { EngineStats } from "./engine/shadow-engine.ts";

/** The SDK's Prometheus metrics; every series has `role="production"` or `role="shadow"`, never both. */
export interface SdkMetrics {
  readonly requests: Counter<"experiment" | "role" | "live">;
  readonly liveLatency: Histogram<"experiment" | "role" | "variant">;
  readonly liveFallbacks: Counter<"experiment" | "role" | "from" | "to">;
  readonly flagEvaluations: Counter<"experiment" | "role" | "reason">;
  readonly mirrorsPlanned: Counter<"experiment" | "role" | "variant">;
  readonly handoffStubbed: Counter<"experiment" | "role" | "reason">;
}

const perRegistry = new WeakMap<
  Registry,
  { metrics: SdkMetrics; sources: Map<string, () => EngineStats | undefined> }
>();

/**
 * Registers (once per registry) and returns the SDK's metrics. Shadow-side series are read from
 * the engine's latest stats when Prometheus scrapes, so the shadow path costs the request
 * thread nothing for them.
 */
export function sdkMetrics(
  registry: Registry,
  experiment: string,
  engineStats: () => EngineStats | undefined,
): SdkMetrics {
  let entry = perRegistry.get(registry);
  if (entry === undefined) {
    const sources = new Map<string, () => EngineStats | undefined>();
    const shadowSeries = (fn: (exp: string, s: EngineStats) => void) => () => {
      for (const [exp, get] of sources) {
        const s = get();
        if (s !== undefined) fn(exp, s);
      }
    };
    const outcomes: Counter<"experiment" | "role" | "variant" | "outcome"> = new Counter({
      name: "umbra_shadow_outcomes_total",
      help: "Mirrors by final outcome (ok, error, timeout, dropped, rejected_by_breaker, skipped_unhealthy).",
      labelNames: ["experiment", "role", "variant", "outcome"],
      registers: [registry],
      collect: () => {
        // Totals live in the engine; the counter mirrors them at each scrape.
        outcomes.reset();
        shadowSeries((exp, s) => {
          for (const [variant, byOutcome] of Object.entries(s.outcomes)) {
            for (const [outcome, n] of Object.entries(byOutcome))
              outcomes.inc({ experiment: exp, role: "shadow", variant, outcome }, n);
          }
        })();
      },
    });
    const laneGauge = (
      name: string,
      help: string,
      pick: (l: EngineStats["lanes"][string]) => number,
    ) => {
      const g: Gauge<"experiment" | "role" | "variant"> = new Gauge({
        name,
        help,
        labelNames: ["experiment", "role", "variant"],
        registers: [registry],
        collect: shadowSeries((exp, s) => {
          for (const [variant, lane] of Object.entries(s.lanes))
            g.set({ experiment: exp, role: "shadow", variant }, pick(lane));
        }),
      });
    };
    laneGauge("umbra_shadow_in_flight", "Mirrored calls in flight per variant.", (l) => l.inFlight);
    laneGauge(
      "umbra_shadow_queued",
      "Mirrors waiting per variant (bounded reservoir queue).",
      (l) => l.queued,
    );
    laneGauge(
      "umbra_shadow_breaker_open",
      "1 while the variant's circuit breaker is open or half-open.",
      (l) => (l.breaker === "closed" ? 0 : 1),
    );
    laneGauge("umbra_shadow_healthy", "1 while the variant reports ModelReady.", (l) =>
      l.healthy ? 1 : 0,
    );
    const sinkGauge = (name: string, help: string, pick: (s: EngineStats["sink"]) => number) => {
      const g: Gauge<"experiment" | "role"> = new Gauge({
        name,
        help,
        labelNames: ["experiment", "role"],
        registers: [registry],
        collect: shadowSeries((exp, s) => g.set({ experiment: exp, role: "shadow" }, pick(s.sink))),
      });
    };
    sinkGauge("umbra_records_published", "Records acknowledged by JetStream.", (s) => s.published);
    sinkGauge(
      "umbra_records_buffered",
      "Records waiting to be published (bounded).",
      (s) => s.buffered,
    );
    sinkGauge(
      "umbra_records_dropped_buffer_full",
      "Records refused because the publish buffer was full.",
      (s) => s.droppedBufferFull,
    );
    sinkGauge(
      "umbra_records_invalid",
      "Records that failed validation and were not published.",
      (s) => s.invalid,
    );
    const metrics: SdkMetrics = {
      requests: new Counter({
        name: "umbra_requests_total",
        help: "Requests answered, by live variant.",
        labelNames: ["experiment", "role", "live"],
        registers: [registry],
      }),
      liveLatency: new Histogram({
        name: "umbra_live_latency_seconds",
        help: "Latency of the live answer as the user saw it.",
        labelNames: ["experiment", "role", "variant"],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
      liveFallbacks: new Counter({
        name: "umbra_live_fallbacks_total",
        help: "Live calls that failed and were answered by the fallback.",
        labelNames: ["experiment", "role", "from", "to"],
        registers: [registry],
      }),
      flagEvaluations: new Counter({
        name: "umbra_flag_evaluations_total",
        help: "Flag evaluations by resolution reason.",
        labelNames: ["experiment", "role", "reason"],
        registers: [registry],
      }),
      mirrorsPlanned: new Counter({
        name: "umbra_mirrors_planned_total",
        help: "Mirrors the flag planned, per shadow variant.",
        labelNames: ["experiment", "role", "variant"],
        registers: [registry],
      }),
      handoffStubbed: new Counter({
        name: "umbra_mirror_handoff_dropped_total",
        help: "Mirrors dropped before the engine (backlog, unencodable input).",
        labelNames: ["experiment", "role", "reason"],
        registers: [registry],
      }),
    };
    entry = { metrics, sources };
    perRegistry.set(registry, entry);
  }
  entry.sources.set(experiment, engineStats);
  return entry.metrics;
}

/** Stops reading an experiment's engine stats (on close). */
export function forgetExperiment(registry: Registry, experiment: string): void {
  perRegistry.get(registry)?.sources.delete(experiment);
}
