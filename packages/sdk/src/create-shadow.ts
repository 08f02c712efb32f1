import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { encodeModelInput } from "@umbra/proto";
import {
  DEFAULT_STRIPPED_HEADERS,
  type EvaluatedPlan,
  isSubjectToken,
  REQUEST_ID_HEADER,
  SHADOW_HEADER,
  UmbraError,
} from "@umbra/protocol";
import { type Logger, pino } from "pino";
import { type Counter, Registry } from "prom-client";
import { createOipCaller } from "./callers/oip-caller.ts";
import type { CaptureOptions } from "./engine/capture.ts";
import type { EngineConfig, SinkConfig } from "./engine/engine-config.ts";
import { createInlineHost, createWorkerHost, type EngineHost } from "./engine/engine-host.ts";
import type { EngineStats } from "./engine/shadow-engine.ts";
import type {
  EncodedInput,
  ErrorInfo,
  MirrorJob,
  RecordSink,
  RequestCount,
  VariantCaller,
} from "./engine/types.ts";
import { DEFAULT_LANE_OPTIONS, type LaneOptions } from "./engine/variant-lane.ts";
import { createFlagClient, type FlagClient, type FlagSource } from "./flags/flag-client.ts";
import { forgetExperiment, type SdkMetrics, sdkMetrics } from "./metrics.ts";
import type { NatsSinkOptions } from "./sinks/nats-sink.ts";
import { isRemote, type LocalModel, type RemoteVariant } from "./variants.ts";

/**
 * Context attributes of a request (user id, device, region…): its string, number and boolean
 * properties are used for targeting, the sticky key and segments; other properties are ignored.
 * Any object type fits, so an interface of your own can be passed as it is.
 */
export type RequestContext = object;

function attribute(
  context: RequestContext | undefined,
  name: string,
): string | number | boolean | undefined {
  const v = (context as Record<string, unknown> | undefined)?.[name];
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : undefined;
}

/** One request as serving code hands it to {@link Shadow.run}. */
export interface ShadowRequest<I> {
  /** Printable ASCII, at most 128 characters (a UUID is ideal): it joins the pair records. */
  readonly requestId: string;
  readonly input: I;
  readonly context?: RequestContext;
  /** Incoming request headers; forwarded to shadows minus credentials. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** Options of {@link createShadow}. */
export interface ShadowOptions<I, O> {
  /** The experiment: its flag is `umbra.<experiment>`. */
  readonly experiment: string;
  /** Every variant: local model functions (live only) and remote OIP variants (live or shadow). */
  readonly variants: Readonly<Record<string, LocalModel<I, O> | RemoteVariant>>;
  /** Where the experiment flag comes from. */
  readonly flags: FlagSource;
  /** The variant that answers when the flag is disabled, missing or not ready. */
  readonly defaultVariant: string;
  /** Answers when a (promoted, remote) live variant fails. Default: `defaultVariant`. */
  readonly fallback?: string;
  /** Publish records to NATS JetStream. Exactly one of `nats` and `sink`. */
  readonly nats?: Omit<NatsSinkOptions, "onError">;
  /** Keep records in memory (`"memory"`), or a sink of your own (inline engine only). */
  readonly sink?: "memory" | RecordSink;
  /** A context attribute (e.g. `userId`) used as the targeting key, so that user's requests are shadowed together. Default: the request id. */
  readonly stickyKey?: string;
  /** Context attributes that form the segment of each record (e.g. `["device", "region"]`); at most 16. */
  readonly segmentBy?: readonly string[];
  /** How much input goes on records. Default `{ mode: "hash" }`. */
  readonly capture?: CaptureOptions;
  /** Scalar features of an input, for divergence analysis; runs after the answer, off the request path. */
  readonly features?: (input: I) => Readonly<Record<string, number | string | boolean>>;
  /** Headers never forwarded to shadows. Default `authorization`, `cookie`. */
  readonly stripHeaders?: readonly string[];
  /** `worker` (default): the shadow path runs in a worker thread; `inline`: on the request thread. */
  readonly engine?: "worker" | "inline";
  /** Default limits for every shadow variant (a variant's own `lane` wins). */
  readonly lane?: Partial<Omit<LaneOptions, "breaker" | "warmup">> & {
    readonly breaker?: Partial<LaneOptions["breaker"]>;
    readonly warmup?: Partial<LaneOptions["warmup"]>;
  };
  /** Exposure window. Default 5 000 ms. */
  readonly exposureIntervalMs?: number;
  /** Mirrors handed to the engine and not yet taken, at most; beyond it they are dropped (`engine_backlog`). Default 20 000. */
  readonly maxPendingMirrors?: number;
  /** How long `createShadow` waits for the flag provider. Default 2 000 ms. */
  readonly initTimeoutMs?: number;
  /** Prometheus registry to register the SDK's metrics in. Default: a new one (`shadow.metrics`). */
  readonly registry?: Registry;
  /** pino logger; shadow-side lines carry `role: "shadow"`. Default: warn level to stderr. */
  readonly logger?: Logger;
  /** Identifies this process in records. Default: a random UUID. */
  readonly sdkInstanceId?: string;
  /** Seed of the engine's reservoir sampling. */
  readonly seed?: number;
  /** Inline engine only: callers to use instead of the OIP client, by variant name. */
  readonly callers?: Readonly<Record<string, VariantCaller>>;
}

/** Counters of one shadow, from both threads. */
export interface ShadowStats {
  readonly requests: number;
  readonly mirrorsPlanned: number;
  readonly liveFallbacks: number;
  readonly invalidRequestIds: number;
  readonly handoffDropped: number;
  readonly flagReady: boolean;
  readonly engine: EngineStats | undefined;
}

/** The shadow of one experiment: answers from the live variant, mirrors to the planned shadows. */
export interface Shadow<I, O> {
  /**
   * Answers the request from the live variant of its plan, exactly as calling that variant
   * would (its errors are your errors), then hands the mirrors to the shadow engine. Nothing on
   * the shadow path can throw into, delay, or change this answer.
   */
  run(request: ShadowRequest<I>): Promise<O>;
  /** The plan the flag gives a request, without running anything. */
  plan(request: Omit<ShadowRequest<I>, "input" | "headers">): Promise<EvaluatedPlan>;
  stats(): ShadowStats;
  /** Waits until every mirror handed over so far has its record published (true) or `timeoutMs` passed (false). */
  settle(timeoutMs?: number): Promise<boolean>;
  /** Stops mirroring, finishes what is in flight, publishes the last records, closes connections. */
  close(timeoutMs?: number): Promise<void>;
  /** The Prometheus registry holding the SDK's metrics. */
  readonly metrics: Registry;
  /** Records kept by a memory sink (`sink: "memory"`), for tests and local runs. */
  readonly records:
    | { readonly pairs: readonly unknown[]; readonly exposures: readonly unknown[] }
    | undefined;
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** Jobs that trigger a hand-off to the engine at once. */
const HANDOFF_BATCH = 64;
/** The longest a job waits for its batch (worker engine). */
const HANDOFF_DELAY_MS = 2;

/**
 * Creates the shadow of one experiment.
 *
 * @example
 * ```ts
 * const shadow = await createShadow({
 *   experiment: "ranker",
 *   flags: { flagd: { host: "127.0.0.1", port: 8015 } },
 *   nats: { servers: "nats://127.0.0.1:4222" },
 *   defaultVariant: "prod",
 *   variants: { prod: predictLocally, A: oip("10.0.0.7:8001", "ranker-a", { transport: "stream" }) },
 *   segmentBy: ["device", "region"],
 * });
 * const answer = await shadow.run({ requestId, input, context: { userId, device, region } });
 * await shadow.close();
 * ```
 */
export async function createShadow<I, O>(options: ShadowOptions<I, O>): Promise<Shadow<I, O>> {
  const o = validateOptions(options);
  const logger =
    options.logger ??
    pino({ level: "warn", base: { component: "umbra-sdk" } }, pino.destination(2));
  const prodLog = logger.child({ role: "production", experiment: o.experiment });
  const shadowLog = logger.child({ role: "shadow", experiment: o.experiment });
  const registry = options.registry ?? new Registry();
  const sdkInstanceId = options.sdkInstanceId ?? randomUUID();

  const remotes = Object.fromEntries(
    Object.entries(options.variants).filter((e): e is [string, RemoteVariant] => isRemote(e[1])),
  );
  const engineConfig: EngineConfig = {
    experiment: o.experiment,
    sdkInstanceId,
    variants: Object.fromEntries(
      Object.entries(remotes).map(([name, remote]) => [
        name,
        { remote, lane: laneOptions(options.lane, remote.lane) },
      ]),
    ),
    sink: sinkConfig(options),
    capture: options.capture ?? { mode: "hash" },
    exposureIntervalMs: options.exposureIntervalMs ?? 5_000,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    logLevel: logger.level,
  };
  const useWorker = (options.engine ?? "worker") === "worker";
  const customSink = typeof options.sink === "object" ? options.sink : undefined;
  const host: EngineHost = useWorker
    ? createWorkerHost(engineConfig, { logger: shadowLog })
    : createInlineHost(engineConfig, {
        logger: shadowLog,
        callerFor: (name, remote) => options.callers?.[name] ?? createOipCaller(name, remote),
        ...(customSink === undefined ? {} : { sink: customSink }),
      });

  let flags: FlagClient;
  try {
    flags = await createFlagClient({
      source: options.flags,
      experiment: o.experiment,
      defaultVariant: o.defaultVariant,
      initTimeoutMs: options.initTimeoutMs ?? 2_000,
      onEvent: (event, detail) =>
        event === "error"
          ? prodLog.warn(
              { detail },
              "flag provider error; serving the code default until it recovers",
            )
          : prodLog.debug({ event }, "flag provider event"),
    });
  } catch (error) {
    await host.close(1_000);
    throw error;
  }
  // Mirrors handed over before the worker has loaded would wait behind its start-up; give it the
  // same bounded time as the flag provider (requests are served either way).
  if (!(await host.ready(options.initTimeoutMs ?? 2_000))) {
    shadowLog.warn("shadow engine not ready yet; mirrors wait for it");
  }
  if (!flags.ready())
    prodLog.warn(
      "flag provider not ready; every request gets the default variant and nothing is mirrored until it is",
    );

  const metrics: SdkMetrics = sdkMetrics(registry, o.experiment, () => host.stats());
  const requestsByLive = new Map<
    string,
    ReturnType<Counter<"experiment" | "role" | "live">["labels"]>
  >();
  const evaluationsByReason = new Map<
    string,
    ReturnType<Counter<"experiment" | "role" | "reason">["labels"]>
  >();
  const plannedByVariant = new Map<
    string,
    ReturnType<Counter<"experiment" | "role" | "variant">["labels"]>
  >();
  const child = <L extends string>(
    cache: Map<string, ReturnType<Counter<L>["labels"]>>,
    counter: Counter<L>,
    key: string,
    labels: Record<L, string>,
  ) => {
    let c = cache.get(key);
    if (c === undefined) {
      c = counter.labels(labels as never);
      cache.set(key, c);
    }
    return c;
  };

  const mainCallers = new Map<string, VariantCaller>();
  const liveCaller = (name: string, remote: RemoteVariant): VariantCaller => {
    let c = mainCallers.get(name);
    if (c === undefined) {
      c = options.callers?.[name] ?? createOipCaller(name, remote);
      mainCallers.set(name, c);
    }
    return c;
  };
  const stripped = new Set(
    [...(options.stripHeaders ?? DEFAULT_STRIPPED_HEADERS)].map((h) => h.toLowerCase()),
  );
  stripped.add(SHADOW_HEADER);

  let requests = 0;
  let mirrorsPlanned = 0;
  let liveFallbacks = 0;
  let invalidRequestIds = 0;
  let handoffDropped = 0;
  let closed = false;
  const maxPending = options.maxPendingMirrors ?? 20_000;

  // Hand-off: jobs go to the engine in batches, after the answers: when HANDOFF_BATCH have
  // collected, or HANDOFF_DELAY_MS after the first (inline: at the end of the tick). One message
  // per request would cost the request thread far more than the mirror itself.
  let jobs: MirrorJob[] = [];
  let inputs: I[] = [];
  let handoffTimer: NodeJS.Timeout | undefined;
  let handoffImmediate: NodeJS.Immediate | undefined;
  const flushJobs = () => {
    if (handoffTimer !== undefined) clearTimeout(handoffTimer);
    if (handoffImmediate !== undefined) clearImmediate(handoffImmediate);
    handoffTimer = undefined;
    handoffImmediate = undefined;
    if (jobs.length === 0) return;
    const batch = jobs;
    const batchInputs = inputs;
    jobs = [];
    inputs = [];
    const room = Math.max(0, maxPending - host.outstanding());
    for (let i = 0; i < batch.length; i++) {
      let job = batch[i] as MirrorJob;
      if (i >= room) {
        job = stub(job, "engine_backlog");
        handoffDropped += job.mirror.length;
        metrics.handoffStubbed.inc(
          { experiment: o.experiment, role: "shadow", reason: "engine_backlog" },
          job.mirror.length,
        );
      } else if (options.features !== undefined) {
        try {
          job = { ...job, features: options.features(batchInputs[i] as I) };
        } catch (error) {
          shadowLog.debug({ err: error }, "features() threw; the record goes without features");
        }
      }
      batch[i] = job;
    }
    try {
      host.submit(batch);
    } catch {
      // A job that cannot cross to the worker (an output that is not structured-cloneable):
      // hand them over one by one, dropping the production output of those that fail.
      for (const job of batch) {
        try {
          host.submit([job]);
        } catch {
          host.submit([stub(job, "unclonable_output")]);
          handoffDropped += job.mirror.length;
        }
      }
    }
  };

  // Requests per (plan, segment), sent to the engine for the exposure records.
  let counts = new Map<
    string,
    { plan: string; segment: Record<string, string>; requests: number }
  >();
  const flushCounts = () => {
    if (counts.size === 0) return;
    const list: RequestCount[] = [...counts.values()];
    counts = new Map();
    host.countRequests(list);
  };
  const countsTimer = setInterval(
    flushCounts,
    Math.max(100, Math.floor(engineConfig.exposureIntervalMs / 4)),
  );
  countsTimer.unref();

  const segmentOf = (context: RequestContext | undefined): Record<string, string> => {
    const segment: Record<string, string> = {};
    for (const attr of o.segmentBy) {
      const v = attribute(context, attr);
      segment[attr] = v === undefined ? "unknown" : String(v).slice(0, 128);
    }
    return segment;
  };

  const callLive = async (name: string, request: ShadowRequest<I>): Promise<unknown> => {
    const variant = options.variants[name];
    if (variant === undefined) throw UmbraError.invalid("variant", `"${name}" is not declared`);
    if (!isRemote(variant)) return variant(request.input, { requestId: request.requestId });
    const answer = await liveCaller(name, variant).call({
      requestId: request.requestId,
      experiment: o.experiment,
      variant: name,
      input: encodeInput(request.input),
      metadata: {
        [REQUEST_ID_HEADER]: request.requestId,
        ...forwardHeaders(request.headers, stripped),
      },
      deadlineMs: variant.liveDeadlineMs ?? 1_000,
    });
    return answer.output;
  };

  const evaluate = async (
    request: Omit<ShadowRequest<I>, "input" | "headers">,
  ): Promise<EvaluatedPlan> => {
    const context: Record<string, string | number | boolean> = {};
    const rc = request.context;
    if (rc !== undefined) {
      for (const k of Object.keys(rc)) {
        const v = attribute(rc, k);
        if (v !== undefined) context[k] = v;
      }
    }
    const sticky = o.stickyKey === undefined ? undefined : attribute(rc, o.stickyKey);
    const key = sticky === undefined ? request.requestId : String(sticky);
    return flags.evaluate(key, context);
  };

  const shadow: Shadow<I, O> = {
    async plan(request) {
      return evaluate(request);
    },

    async run(request) {
      requests++;
      const plan = await evaluate(request);
      child(evaluationsByReason, metrics.flagEvaluations, plan.reason, {
        experiment: o.experiment,
        role: "production",
        reason: plan.reason,
      });
      let live = plan.live in options.variants ? plan.live : o.defaultVariant;
      let mirror = plan.mirror;
      const validId = typeof request.requestId === "string" && REQUEST_ID.test(request.requestId);
      if (!validId && mirror.length > 0) {
        // Never fail the user's request over its id; just do not mirror it.
        invalidRequestIds++;
        if (invalidRequestIds === 1 || invalidRequestIds % 10_000 === 0) {
          shadowLog.warn(
            { requestId: String(request.requestId).slice(0, 64) },
            "requestId: must be 1-128 printable ASCII characters; this request is not mirrored",
          );
        }
        mirror = [];
      }
      if (closed) mirror = [];
      // Encode the input before production runs, so the shadow gets exactly what production got.
      let input: EncodedInput | null = null;
      let dropReason: string | undefined;
      if (mirror.length > 0) {
        try {
          input = encodeInput(request.input);
        } catch {
          dropReason = "encode_failed";
        }
      }
      const requestTimestampMs = Date.now();
      const started = performance.now();
      let output: unknown;
      let failure: unknown;
      let failed = false;
      let fallbackFrom: string | undefined;
      try {
        output = await callLive(live, request);
      } catch (error) {
        if (live !== o.fallback) {
          fallbackFrom = live;
          liveFallbacks++;
          metrics.liveFallbacks.inc({
            experiment: o.experiment,
            role: "production",
            from: live,
            to: o.fallback,
          });
          prodLog.warn(
            { err: error, from: live, to: o.fallback, requestId: request.requestId },
            "live variant failed; answered by the fallback",
          );
          live = o.fallback;
          mirror = mirror.filter((v) => v !== live);
          try {
            output = await callLive(live, request);
          } catch (fallbackError) {
            failure = fallbackError;
            failed = true;
          }
        } else {
          failure = error;
          failed = true;
        }
      }
      const latencyMs = performance.now() - started;
      metrics.liveLatency.observe(
        { experiment: o.experiment, role: "production", variant: live },
        latencyMs / 1_000,
      );
      child(requestsByLive, metrics.requests, live, {
        experiment: o.experiment,
        role: "production",
        live,
      });

      const segment = segmentOf(request.context);
      const planKey = plan.flagVariant === "" ? `default:${live}` : plan.flagVariant;
      let countKey = planKey;
      for (const k in segment) countKey += `\u0001${segment[k]}`;
      const count = counts.get(countKey);
      if (count === undefined) counts.set(countKey, { plan: planKey, segment, requests: 1 });
      else count.requests++;

      if (mirror.length > 0) {
        mirrorsPlanned += mirror.length;
        for (const v of mirror)
          child(plannedByVariant, metrics.mirrorsPlanned, v, {
            experiment: o.experiment,
            role: "shadow",
            variant: v,
          });
        const production: { output?: unknown; latencyMs: number; error?: ErrorInfo } = {
          latencyMs,
        };
        if (failed) production.error = errorInfo(failure);
        else production.output = output;
        if (fallbackFrom !== undefined && !failed)
          production.error = {
            code: "fallback_used",
            message: `live variant "${fallbackFrom}" failed; "${live}" answered`,
          };
        jobs.push({
          requestId: request.requestId,
          requestTimestampMs,
          live,
          mirror,
          flagVariant: plan.flagVariant,
          reason: plan.reason,
          revision: plan.revision,
          stage: plan.stage,
          specHash: plan.specHash,
          sampleBasisPoints: plan.sampleBasisPoints,
          input,
          dropReason,
          segment,
          headers: {
            [REQUEST_ID_HEADER]: request.requestId,
            ...forwardHeaders(request.headers, stripped),
          },
          production,
        });
        inputs.push(request.input);
        if (jobs.length >= HANDOFF_BATCH) {
          if (handoffImmediate === undefined) handoffImmediate = setImmediate(flushJobs);
        } else if (handoffTimer === undefined && handoffImmediate === undefined) {
          if (useWorker) handoffTimer = setTimeout(flushJobs, HANDOFF_DELAY_MS);
          else handoffImmediate = setImmediate(flushJobs);
        }
      }
      if (failed) throw failure;
      return output as O;
    },

    stats() {
      return {
        requests,
        mirrorsPlanned,
        liveFallbacks,
        invalidRequestIds,
        handoffDropped,
        flagReady: flags.ready(),
        engine: host.stats(),
      };
    },

    async settle(timeoutMs = 10_000) {
      flushJobs();
      flushCounts();
      return host.settle(timeoutMs);
    },

    async close(timeoutMs = 5_000) {
      if (closed) return;
      closed = true;
      flushJobs();
      flushCounts();
      clearInterval(countsTimer);
      await host.close(timeoutMs);
      await flags.close();
      await Promise.allSettled([...mainCallers.values()].map((c) => c.close()));
      forgetExperiment(registry, o.experiment);
    },

    metrics: registry,
    records: host.records,
  };
  return shadow;
}

function stub(job: MirrorJob, reason: string): MirrorJob {
  const { output: _dropped, ...production } = job.production;
  return { ...job, input: null, dropReason: reason, production };
}

function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof UmbraError)
    return { code: error.code, message: error.message.slice(0, 2_000) };
  if (error instanceof Error)
    return { code: error.name || "Error", message: error.message.slice(0, 2_000) };
  return { code: "thrown", message: String(error).slice(0, 2_000) };
}

/** Encodes an input once: numeric vectors as float32 bytes, anything else as msgpack. */
export function encodeInput(input: unknown): EncodedInput {
  const encoded = encodeModelInput(input);
  // msgpack bytes are a view into msgpackr's shared buffer; copy so the job owns exactly its bytes
  // (a view would drag the whole buffer across the worker boundary).
  return encoded.kind === "msgpack" ? { kind: "msgpack", bytes: encoded.bytes.slice() } : encoded;
}

function forwardHeaders(
  headers: ShadowRequest<unknown>["headers"],
  stripped: ReadonlySet<string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (value === undefined || stripped.has(key) || key.startsWith(":")) continue;
    out[key] = typeof value === "string" ? value : value.join(", ");
  }
  return out;
}

function laneOptions(
  defaults: ShadowOptions<unknown, unknown>["lane"],
  own: RemoteVariant["lane"],
): LaneOptions {
  return {
    ...DEFAULT_LANE_OPTIONS,
    ...defaults,
    ...own,
    breaker: { ...DEFAULT_LANE_OPTIONS.breaker, ...defaults?.breaker, ...own?.breaker },
    warmup: { ...DEFAULT_LANE_OPTIONS.warmup, ...defaults?.warmup, ...own?.warmup },
  } as LaneOptions;
}

function sinkConfig(options: {
  readonly nats?: ShadowOptions<unknown, unknown>["nats"];
}): SinkConfig {
  if (options.nats !== undefined) return { kind: "nats", options: options.nats };
  return { kind: "memory" };
}

interface ValidOptions {
  readonly experiment: string;
  readonly defaultVariant: string;
  readonly fallback: string;
  readonly stickyKey: string | undefined;
  readonly segmentBy: readonly string[];
}

function validateOptions<I, O>(options: ShadowOptions<I, O>): ValidOptions {
  const fail = (field: string, rule: string): never => {
    throw UmbraError.invalid(field, rule);
  };
  if (!isSubjectToken(options.experiment))
    fail("experiment", "must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'");
  const variants = options.variants ?? {};
  if (Object.keys(variants).length === 0)
    fail("variants", "must declare at least the default variant");
  for (const [name, v] of Object.entries(variants)) {
    if (!isSubjectToken(name))
      fail(
        `variants.${name}`,
        "variant names must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
      );
    if (typeof v !== "function" && !isRemote(v))
      fail(`variants.${name}`, "must be a model function or oip(address, model)");
    if (isRemote(v)) {
      if (!/^[^\s:]+:\d{1,5}$/.test(v.address))
        fail(`variants.${name}.address`, `must be host:port (got ${JSON.stringify(v.address)})`);
      if (typeof v.model !== "string" || v.model.length === 0)
        fail(`variants.${name}.model`, "must be a non-empty model name");
    }
  }
  if (!(options.defaultVariant in variants))
    fail("defaultVariant", `must name one of the variants (${Object.keys(variants).join(", ")})`);
  const fallback = options.fallback ?? options.defaultVariant;
  if (!(fallback in variants)) fail("fallback", "must name one of the variants");
  if ((options.nats === undefined) === (options.sink === undefined))
    fail("nats", "give exactly one of nats (publish to JetStream) and sink");
  if (typeof options.sink === "object" && (options.engine ?? "worker") === "worker")
    fail(
      "sink",
      'a sink object needs engine: "inline" (it cannot cross into the worker thread); use nats or "memory"',
    );
  if (options.callers !== undefined && (options.engine ?? "worker") === "worker")
    fail("callers", 'custom callers need engine: "inline"');
  const segmentBy = options.segmentBy ?? [];
  if (segmentBy.length > 16) fail("segmentBy", "at most 16 attributes");
  for (const a of segmentBy)
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(a))
      fail(
        "segmentBy",
        `attribute ${JSON.stringify(a)} must be 1-64 characters of A-Z a-z 0-9 _ . -`,
      );
  if (options.capture !== undefined && !["full", "hash", "none"].includes(options.capture.mode))
    fail("capture.mode", "must be full, hash or none");
  const positive = (field: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isFinite(v) || v <= 0))
      fail(field, "must be a finite number > 0");
  };
  positive("exposureIntervalMs", options.exposureIntervalMs);
  positive("maxPendingMirrors", options.maxPendingMirrors);
  positive("initTimeoutMs", options.initTimeoutMs);
  positive("lane.deadlineMs", options.lane?.deadlineMs);
  positive("lane.maxInFlight", options.lane?.maxInFlight);
  return {
    experiment: options.experiment,
    defaultVariant: options.defaultVariant,
    fallback,
    stickyKey: options.stickyKey,
    segmentBy,
  };
}
