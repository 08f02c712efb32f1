// Pieces the promotion tests share: collectors that promote (real child processes) through a real
// flag file, variant servers whose model can be switched while they serve, an SDK following the
// collector's flagd.sync.v1 endpoint, steady traffic, and the decision stream read back.
import { DeliverPolicy } from "@nats-io/jetstream";
import { type DecisionRecord, decodeDecision, Streams, Subjects } from "@umbra/protocol";
import { createShadow, oip, type Shadow } from "@umbra/sdk";
import { connectJetStream, createTrafficSource, waitFor } from "@umbra/testing";
import { serveVariant, type VariantServer } from "@umbra/variant";
import { pino } from "pino";
import { type CollectorProcess, startCollectorProcess } from "../collector-process.ts";
import { score } from "./model.ts";

/** The admin token every promoting collector of the tests runs with. */
export const ADMIN_TOKEN = "e2e-admin-token-0123456789";

/** What a variant of the promotion tests answers: the test model's label, and who answered. */
export interface Answer {
  readonly label: string;
  readonly text: string;
}

/** A promoting collector process and its flagd.sync.v1 port. */
export interface PromotingCollector {
  readonly process: CollectorProcess;
  readonly url: string;
  readonly flagSyncPort: number;
}

/** Starts a collector child process that promotes through `flagFile` and serves it over flagd.sync.v1. */
export async function startPromotingCollector(options: {
  readonly natsUrl: string;
  readonly flagFile: string;
  readonly replicaId: string;
  readonly env?: Readonly<Record<string, string>>;
}): Promise<PromotingCollector> {
  const process = await startCollectorProcess({
    natsUrl: options.natsUrl,
    replicaId: options.replicaId,
    env: {
      UMBRA_FLAG_FILE: options.flagFile,
      UMBRA_FLAG_SYNC_PORT: "0",
      UMBRA_ADMIN_TOKEN: ADMIN_TOKEN,
      UMBRA_DECISION_TICK_MS: "200",
      UMBRA_CHECKPOINT_INTERVAL_MS: "100",
      UMBRA_LEASE_TTL_MS: "1500",
      UMBRA_DISCOVERY_INTERVAL_MS: "100",
      // The SDKs follow the collector's own sync endpoint: they apply a flag within milliseconds.
      UMBRA_FLAG_SETTLE_MS: "500",
      ...options.env,
    },
  });
  const health = await getJson<{ flagSync: string | null }>(`${process.url}/healthz`);
  const port = Number(health.flagSync?.split(":").at(-1));
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error(
      `collector ${options.replicaId} serves no flag sync: ${JSON.stringify(health)}`,
    );
  }
  return { process, url: process.url, flagSyncPort: port };
}

/** A variant server whose model answers as `name`, and diverges (another label) while `diverging` is on. */
export interface SwitchableVariant {
  readonly server: VariantServer;
  readonly address: string;
  diverging: boolean;
}

/** Serves the test model as `name` on a free port. */
export async function startSwitchableVariant(name: string): Promise<SwitchableVariant> {
  const variant: { server?: VariantServer; diverging: boolean } = { diverging: false };
  const server = await serveVariant({
    models: {
      model: (f: Float32Array) => {
        const answer = score(f);
        return {
          label: variant.diverging ? `not-${answer.label}` : answer.label,
          text: name,
          scores: answer.scores,
        };
      },
    },
    port: 0,
  });
  return Object.assign(variant, { server, address: server.address }) as SwitchableVariant;
}

/** An SDK following a collector's flagd.sync.v1 endpoint, with `prod` and `A` as remote variants. */
export async function createTestShadow(options: {
  readonly experiment: string;
  readonly flagSyncPort: number;
  readonly natsUrl: string;
  readonly prod: SwitchableVariant;
  readonly candidate: SwitchableVariant;
}): Promise<Shadow<readonly number[], Answer>> {
  return createShadow<readonly number[], Answer>({
    experiment: options.experiment,
    flags: { flagd: { host: "127.0.0.1", port: options.flagSyncPort } },
    nats: { servers: options.natsUrl },
    defaultVariant: "prod",
    variants: {
      prod: oip(options.prod.address, "model"),
      A: oip(options.candidate.address, "model"),
    },
    exposureIntervalMs: 200,
    lane: { deadlineMs: 2_000 },
    logger: pino({ level: "silent" }),
  });
}

/** Steady traffic through an SDK, counting who answered. */
export interface Traffic {
  /** Requests answered so far. */
  readonly answered: number;
  /** Answers by variant (`Answer.text`) since `from` (a value of `answered`). */
  answersSince(from: number): Map<string, number>;
  /** Requests that failed (the live variant threw). */
  readonly failures: number;
  stop(): Promise<void>;
}

/**
 * Runs requests through `shadow` until stopped: `workers` loops, each pausing `pauseMs` between
 * requests (a steady load on a two-core machine, not a benchmark).
 */
export function driveTraffic(
  shadow: Shadow<readonly number[], Answer>,
  options: { readonly seed: string; readonly workers?: number; readonly pauseMs?: number },
): Traffic {
  const source = createTrafficSource({ seed: options.seed, input: "features", featureCount: 8 });
  const answers: string[] = [];
  let failures = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const [request] = source.take(1);
      if (request === undefined) return;
      try {
        const answer = await shadow.run({
          requestId: request.requestId,
          input: request.input.features ?? [],
          context: request.context,
        });
        answers.push(answer.text);
      } catch {
        failures += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 15));
    }
  };
  const running = Promise.all(Array.from({ length: options.workers ?? 3 }, worker));
  return {
    get answered() {
      return answers.length;
    },
    get failures() {
      return failures;
    },
    answersSince(from) {
      const out = new Map<string, number>();
      for (const text of answers.slice(from)) out.set(text, (out.get(text) ?? 0) + 1);
      return out;
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/** GETs `url` and parses the JSON answer; throws on a non-2xx status. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${body}`);
  return JSON.parse(body) as T;
}

/** Sends a JSON request with the admin token (or `token`), resolving status and parsed body. */
export async function send(
  method: "PUT" | "POST",
  url: string,
  body: unknown,
  token: string | null = ADMIN_TOKEN,
): Promise<{ readonly status: number; readonly body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The part of a collector's promotion status the tests read. */
export interface Status {
  readonly specHash: string | null;
  readonly owner: string | null;
  readonly stage: string | null;
  readonly live: string | null;
  readonly rollout: { readonly variant: string; readonly basisPoints: number } | null;
  readonly control: { readonly mode: string } | null;
  readonly flag: { readonly revision: number | null };
  readonly candidates: readonly {
    readonly variant: string;
    readonly phase: string;
    readonly stage: string;
    readonly rule: string | null;
    readonly reason: string;
  }[];
}

/** Polls a collector's status of `experiment` until `predicate` holds; resolves that status. */
export function waitForStatus(
  url: string,
  experiment: string,
  predicate: (status: Status) => boolean,
  message: string,
  timeoutMs = 60_000,
): Promise<Status> {
  return waitFor(
    async () => {
      const status = await getJson<Status>(`${url}/experiments/${experiment}/status`);
      return predicate(status) ? status : undefined;
    },
    { timeoutMs, intervalMs: 50, message },
  );
}

/** A spec for the promotion tests: prod and A over OIP, labels compared, short stages. */
export function testSpec(
  experiment: string,
  options: {
    readonly prod: SwitchableVariant;
    readonly candidate: SwitchableVariant;
    readonly minSamples?: number;
    readonly holdMs?: number;
    readonly watchMs?: number;
  },
) {
  const holdMs = options.holdMs ?? 1_000;
  return {
    schema: 1,
    experiment,
    live: "prod",
    variants: {
      prod: { target: { kind: "oip", address: options.prod.address, model: "model" } },
      A: { target: { kind: "oip", address: options.candidate.address, model: "model" } },
    },
    outputs: { label: { kind: "exact" } },
    segments: [],
    criteria: {
      maxDivergenceRate: 0.2,
      maxErrorRate: 0.2,
      minSamples: options.minSamples ?? 60,
      minDurationMs: 500,
      maxDurationMs: 3_600_000,
    },
    stages: [
      { name: "live-50", rolloutBasisPoints: 5_000, holdMs },
      { name: "live-100", rolloutBasisPoints: 10_000, holdMs },
    ],
    watchMs: options.watchMs ?? holdMs,
  };
}

/** Every record on `umbra.decisions.<experiment>`, in stream order. */
export async function readDecisionLog(
  natsUrl: string,
  experiment: string,
): Promise<DecisionRecord[]> {
  const conn = await connectJetStream(natsUrl);
  try {
    const subject = Subjects.decisions(experiment);
    const info = await conn.jsm.streams.info(Streams.decisions, { subjects_filter: subject });
    const total = info.state.subjects?.[subject] ?? 0;
    const out: DecisionRecord[] = [];
    if (total === 0) return out;
    const consumer = await conn.js.consumers.get(Streams.decisions, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume();
    for await (const m of messages) {
      out.push(decodeDecision(m.data));
      if (out.length === total) break;
    }
    await messages.close();
    return out;
  } finally {
    await conn.close();
  }
}
