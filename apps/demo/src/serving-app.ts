import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { UmbraError } from "@umbra/protocol";
import type { Shadow } from "@umbra/sdk";

/** What the serving app's clients send to `POST /predict`. */
export interface PredictRequest {
  /** Printable ASCII, 1–128 characters: it joins production's and the shadows' answers. */
  readonly requestId: string;
  /** The model's numeric features. */
  readonly features: readonly number[];
  readonly userId: string;
  /** `mobile`, `desktop`, `tablet`: a model input and a segment. */
  readonly device: string;
  readonly region: string;
}

/**
 * The model input: the features as `f0`…`f7` plus `device` and `region`. The reference classifier
 * reads the numeric fields as its feature vector; a variant that diverges on a segment reads
 * `device` from here.
 */
export type IntentInput = Readonly<Record<string, number | string>>;

/** A model's answer: the intent label and the class scores. */
export interface IntentAnswer {
  readonly label: string;
  readonly scores: ArrayLike<number>;
}

/** Counters of the serving app. */
export interface ServingStats {
  /** `POST /predict` requests received. */
  readonly requests: number;
  /** Answered with 200. */
  readonly answered: number;
  /** Refused with 4xx (bad body). */
  readonly rejected: number;
  /** Failed with 5xx (the live model failed). */
  readonly failed: number;
  /** Answers by the variant that gave them, from the SDK's `umbra_live_latency_seconds{variant}`. */
  readonly byLive: Readonly<Record<string, number>>;
}

/** Options of {@link createServingApp}. */
export interface ServingAppOptions {
  /** The SDK's shadow of the experiment. */
  readonly shadow: Shadow<IntentInput, IntentAnswer>;
  /** Largest request body accepted. Default 16 KiB. */
  readonly maxBodyBytes?: number;
}

/** The serving app: an HTTP handler and its counters. */
export interface ServingApp {
  readonly handler: RequestListener;
  stats(): Promise<ServingStats>;
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const TOKEN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Validates a `POST /predict` body once, at the edge. Throws an `invalid_argument` UmbraError
 * naming the field and the rule.
 */
export function parsePredictRequest(body: unknown): PredictRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw UmbraError.invalid("body", "must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  const { requestId, features, userId, device, region } = b;
  if (typeof requestId !== "string" || !REQUEST_ID.test(requestId)) {
    throw UmbraError.invalid("requestId", "must be 1-128 printable ASCII characters");
  }
  if (
    !Array.isArray(features) ||
    features.length < 1 ||
    features.length > 64 ||
    !features.every((f) => typeof f === "number" && Number.isFinite(f))
  ) {
    throw UmbraError.invalid("features", "must be an array of 1-64 finite numbers");
  }
  for (const [field, value] of [
    ["userId", userId],
    ["device", device],
    ["region", region],
  ] as const) {
    if (typeof value !== "string" || !TOKEN.test(value)) {
      throw UmbraError.invalid(field, "must be 1-64 characters of A-Z a-z 0-9 _ . -");
    }
  }
  return {
    requestId,
    features: features as number[],
    userId: userId as string,
    device: device as string,
    region: region as string,
  };
}

/** The model input of a request: features as `f0`…, plus device and region. */
export function intentInput(request: PredictRequest): IntentInput {
  const input: Record<string, number | string> = {
    device: request.device,
    region: request.region,
  };
  request.features.forEach((f, i) => {
    input[`f${i}`] = f;
  });
  return input;
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json") {
  const text = type === "application/json" ? JSON.stringify(body) : String(body);
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(UmbraError.invalid("body", `must be at most ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Creates the demo's serving app: `POST /predict` answers from the experiment's live variant
 * through the SDK (which mirrors the request to the shadows the flag plans), `GET /stats` counts
 * answers by the variant that gave them, `GET /metrics` is the SDK's Prometheus registry and
 * `GET /healthz` says whether the flag source is ready.
 *
 * @example
 * ```ts
 * const app = createServingApp({ shadow });
 * createServer(app.handler).listen(8080);
 * ```
 */
export function createServingApp(options: ServingAppOptions): ServingApp {
  const { shadow } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024;
  let requests = 0;
  let answered = 0;
  let rejected = 0;
  let failed = 0;

  const byLive = async (): Promise<Record<string, number>> => {
    // The live-latency histogram is observed once per answer with the variant that gave it
    // (after any fallback), so its counts are the answers by variant.
    const metric = shadow.metrics.getSingleMetric("umbra_live_latency_seconds");
    const out: Record<string, number> = {};
    if (metric === undefined) return out;
    const { values } = await metric.get();
    for (const v of values as {
      metricName?: string;
      labels: Record<string, unknown>;
      value: number;
    }[]) {
      const variant = v.labels.variant;
      if (v.metricName === "umbra_live_latency_seconds_count" && typeof variant === "string") {
        out[variant] = (out[variant] ?? 0) + v.value;
      }
    }
    return out;
  };
  const stats = async (): Promise<ServingStats> => ({
    requests,
    answered,
    rejected,
    failed,
    byLive: await byLive(),
  });

  const predict = async (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    let request: PredictRequest;
    try {
      const text = await readBody(req, maxBodyBytes);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw UmbraError.invalid("body", "must be JSON");
      }
      request = parsePredictRequest(body);
    } catch (error) {
      rejected++;
      const e = UmbraError.from(error);
      send(res, 400, { error: { code: e.code, field: e.field, message: e.message } });
      return;
    }
    try {
      const answer = await shadow.run({
        requestId: request.requestId,
        input: intentInput(request),
        context: { userId: request.userId, device: request.device, region: request.region },
      });
      answered++;
      send(res, 200, {
        requestId: request.requestId,
        label: answer.label,
        scores: Array.from(answer.scores),
      });
    } catch (error) {
      // The live model's failure is the user's failure: the SDK never hides it.
      failed++;
      const e = UmbraError.from(error);
      send(res, 502, { error: { code: e.code, message: e.message } });
    }
  };

  const handler: RequestListener = (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const route = `${req.method} ${path}`;
    const fail = (error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(error) } });
    };
    switch (route) {
      case "POST /predict":
        predict(req, res).catch(fail);
        return;
      case "GET /stats":
        stats().then((s) => send(res, 200, s), fail);
        return;
      case "GET /metrics":
        shadow.metrics
          .metrics()
          .then((text) => send(res, 200, text, shadow.metrics.contentType), fail);
        return;
      case "GET /healthz": {
        const flagReady = shadow.stats().flagReady;
        send(res, flagReady ? 200 : 503, { status: flagReady ? "ok" : "flags_not_ready" });
        return;
      }
      default:
        send(res, 404, { error: { code: "not_found", message: `no route ${route}` } });
    }
  };
  return { handler, stats };
}
