import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";
import type { CollectorService } from "../collector-service.ts";
import { type PromotionCommand, PromotionCommandKind } from "../promotion/advancer.ts";
import { renderReportPage } from "../reports/report-page.ts";
import { errorResponse } from "./error-status.ts";
import { intParam, readJsonBody, readQuery, segmentParam, tokenParam } from "./request-input.ts";

/** The most examples one request returns. */
export const MAX_EXAMPLES_LIMIT = 1_000;

/** The most decision records one request returns. */
export const MAX_DECISIONS_LIMIT = 10_000;

const COMMANDS = new Set<string>(Object.values(PromotionCommandKind));
const ACTOR_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** The body of a command: `{ variant?, by?, note? }`, validated; errors name `body.<field>`. */
export function commandBody(kind: PromotionCommand["kind"], body: unknown): PromotionCommand {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw CollectorError.invalid("body", "must be a JSON object: { variant?, by?, note? }");
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== "variant" && key !== "by" && key !== "note") {
      throw CollectorError.invalid(
        `body.${key}`,
        "is not a field of a command (variant, by, note)",
      );
    }
  }
  if (b.variant !== undefined && typeof b.variant !== "string") {
    throw CollectorError.invalid("body.variant", "must be a string");
  }
  const variant = tokenParam("body.variant", b.variant as string | undefined);
  if (b.by !== undefined && (typeof b.by !== "string" || !ACTOR_NAME.test(b.by))) {
    throw CollectorError.invalid(
      "body.by",
      "must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '@' or '-' (who gives the command)",
    );
  }
  if (b.note !== undefined && (typeof b.note !== "string" || b.note.length > 1_024)) {
    throw CollectorError.invalid("body.note", "must be a string of at most 1024 characters");
  }
  return {
    kind,
    actor: `human:${(b.by as string | undefined) ?? "admin"}`,
    ...(variant === undefined ? {} : { variant }),
    ...(b.note === undefined ? {} : { note: b.note as string }),
  };
}

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
 * | GET | `/experiments/:name/status` | the promotion: stage, live variant, candidates with reasons |
 * | GET | `/experiments/:name/decisions` | the decision log (`limit`, `version`) |
 * | POST | `/experiments/:name/{approve,hold,promote,rollback,resume}` | a human command (token) |
 *
 * PUT and POST need `Authorization: Bearer <UMBRA_ADMIN_TOKEN>`; without a configured token the
 * collector is read-only and they answer 403.
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
      sendJson(
        res,
        status,
        body,
        status === 401 ? { "www-authenticate": 'Bearer realm="umbra"' } : {},
      );
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
      service.authorize(req.headers.authorization);
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
      const version = readQuery(url, ["version"]).get("version");
      if (version !== undefined) {
        if (!/^[0-9a-f]{12,64}$/.test(version)) {
          throw CollectorError.invalid(
            "query.version",
            "must be a spec hash or its first 12+ lowercase hex characters",
          );
        }
        sendJson(res, 200, await service.previousReport(experiment, version));
        return;
      }
      sendJson(res, 200, await service.report(experiment));
      return;
    }
    case "status": {
      route("GET");
      readQuery(url, []);
      sendJson(res, 200, await service.status(experiment));
      return;
    }
    case "decisions": {
      route("GET");
      const q = readQuery(url, ["limit", "version"]);
      const limit = intParam("query.limit", q.get("limit"), 1_000, 1, MAX_DECISIONS_LIMIT);
      const version = q.get("version") ?? "all";
      if (version !== "all" && version !== "current") {
        throw CollectorError.invalid(
          "query.version",
          `must be all or current (got ${JSON.stringify(version)})`,
        );
      }
      sendJson(res, 200, await service.decisions(experiment, { limit, version }));
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
    default: {
      if (COMMANDS.has(sub)) {
        route("POST");
        readQuery(url, []);
        service.authorize(req.headers.authorization);
        const command = commandBody(
          sub as PromotionCommand["kind"],
          await readJsonBody(req, { allowEmpty: true }),
        );
        sendJson(res, 200, await service.command(experiment, command));
        return;
      }
      throw notFound(url.pathname);
    }
  }
}

function notFound(path: string): CollectorError {
  return new CollectorError(CollectorErrorCode.NotFound, `path: no route for ${path}`, {
    field: "path",
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
