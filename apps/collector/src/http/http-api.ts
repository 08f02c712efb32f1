import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";
import type { CollectorService } from "../collector-service.ts";
import { renderReportPage } from "../reports/report-page.ts";
import { errorResponse } from "./error-status.ts";
import { intParam, readJsonBody, readQuery, segmentParam, tokenParam } from "./request-input.ts";

/** The most examples one request returns. */
export const MAX_EXAMPLES_LIMIT = 1_000;

/**
 * The collector's HTTP API as a Node request listener (JSON everywhere except `/metrics`, the
 * HTML report page and the JSONL export). Every path segment and query parameter is validated;
 * errors answer `{ error: { code, message, field } }` with the status from `error-status.ts`.
 *
 * | method | path | answer |
 * |---|---|---|
 * | GET | `/healthz` | replica, NATS status, experiments held |
 * | GET | `/metrics` | Prometheus text |
 * | GET | `/experiments` | every known experiment with its owner and counts |
 * | PUT | `/experiments/:name` | registers the experiment's spec (JSON body) |
 * | GET | `/experiments/:name` | the report as an HTML page |
 * | GET | `/experiments/:name/spec` | the registered spec |
 * | GET | `/experiments/:name/report` | the A/B/C report |
 * | GET | `/experiments/:name/examples` | divergent examples (`variant`, `segment`, `limit`) |
 * | GET | `/experiments/:name/export` | divergent examples as JSONL (`variant`, `segment`) |
 */
export function createHttpApi(service: CollectorService, logger: Logger): RequestListener {
  return (req, res) => {
    handle(service, req, res).catch((error: unknown) => {
      const { status, body } = errorResponse(error);
      if (status >= 500) logger.warn({ err: error, url: req.url }, "request failed");
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, status, body);
    });
  };
}

async function handle(
  service: CollectorService,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://collector");
  const parts = url.pathname.split("/").filter((p) => p !== "");
  const method = req.method ?? "GET";
  const route = (...methods: string[]) => {
    if (!methods.includes(method)) {
      throw new CollectorError(
        CollectorErrorCode.MethodNotAllowed,
        `method: ${method} is not allowed on ${url.pathname} (allowed: ${methods.join(", ")})`,
        { field: "method" },
      );
    }
  };

  if (parts.length === 1 && parts[0] === "healthz") {
    route("GET");
    readQuery(url, []);
    const health = service.health();
    sendJson(res, health.status === "ok" ? 200 : 503, health);
    return;
  }
  if (parts.length === 1 && parts[0] === "metrics") {
    route("GET");
    readQuery(url, []);
    const { contentType, text } = await service.metricsText();
    res.writeHead(200, { "content-type": contentType });
    res.end(text);
    return;
  }
  if (parts[0] !== "experiments" || parts.length > 3) throw notFound(url.pathname);
  if (parts.length === 1) {
    route("GET");
    readQuery(url, []);
    sendJson(res, 200, { experiments: await service.experiments() });
    return;
  }
  const experiment = tokenParam("path.experiment", decodeURIComponent(parts[1] ?? "")) as string;
  const sub = parts[2];
  if (sub === undefined) {
    if (method === "PUT") {
      readQuery(url, []);
      const body = await readJsonBody(req);
      const result = await service.registerSpec(body, experiment);
      sendJson(res, result.change === "created" ? 201 : 200, {
        experiment,
        specHash: result.hash,
        change: result.change,
      });
      return;
    }
    route("GET", "PUT");
    readQuery(url, []);
    const report = await service.report(experiment);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(renderReportPage(report));
    return;
  }
  switch (sub) {
    case "spec": {
      route("GET");
      readQuery(url, []);
      sendJson(res, 200, await service.spec(experiment));
      return;
    }
    case "report": {
      route("GET");
      readQuery(url, []);
      sendJson(res, 200, await service.report(experiment));
      return;
    }
    case "examples": {
      route("GET");
      const q = readQuery(url, ["variant", "segment", "limit"]);
      const variant = tokenParam("query.variant", q.get("variant"));
      const segment = segmentParam("query.segment", q.get("segment"));
      const limit = intParam("query.limit", q.get("limit"), 100, 1, MAX_EXAMPLES_LIMIT);
      sendJson(
        res,
        200,
        await service.examples(experiment, {
          ...(variant === undefined ? {} : { variant }),
          ...(segment === undefined ? {} : { segment }),
          limit,
        }),
      );
      return;
    }
    case "export": {
      route("GET");
      const q = readQuery(url, ["variant", "segment"]);
      const variant = tokenParam("query.variant", q.get("variant"));
      const segment = segmentParam("query.segment", q.get("segment"));
      const exported = await service.exportExamples(experiment, {
        ...(variant === undefined ? {} : { variant }),
        ...(segment === undefined ? {} : { segment }),
      });
      res.writeHead(200, {
        "content-type": "application/x-ndjson",
        "x-umbra-total": String(exported.total),
      });
      for (const line of exported.lines) {
        if (!res.write(`${line}\n`)) await new Promise((resolve) => res.once("drain", resolve));
      }
      res.end();
      return;
    }
    default:
      throw notFound(url.pathname);
  }
}

function notFound(path: string): CollectorError {
  return new CollectorError(CollectorErrorCode.NotFound, `path: no route for ${path}`, {
    field: "path",
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
