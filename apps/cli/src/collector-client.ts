import { CliError, CliErrorCode } from "./cli-error.ts";

/** Segment selector `attribute:value`. */
export interface SegmentSelector {
  readonly attribute: string;
  readonly value: string;
}

/** A JSONL export in progress. */
export interface ExportStream {
  /** How many lines the collector announced (`x-umbra-total`), if it did. */
  readonly total: number | undefined;
  /** The lines, without their newline. */
  readonly lines: AsyncIterable<string>;
}

/** A human command for the collector's promotion of an experiment. */
export interface CommandRequest {
  /** `approve`, `hold`, `promote`, `rollback` or `resume`. */
  readonly kind: string;
  readonly variant?: string;
  /** Who gives it; the collector records `human:<by>`. */
  readonly by?: string;
  readonly note?: string;
  /** The collector's admin token. */
  readonly token?: string;
}

/** The few collector calls the CLI makes; see {@link createCollectorClient}. */
export interface CollectorClient {
  readonly baseUrl: string;
  report(experiment: string): Promise<unknown>;
  /** `GET /experiments/:name/status`. */
  status(experiment: string): Promise<unknown>;
  /** `GET /experiments/:name/decisions`. */
  decisions(
    experiment: string,
    options: { readonly limit?: number; readonly version?: "all" | "current" },
  ): Promise<unknown>;
  /** `POST /experiments/:name/<kind>` with the token; resolves the status after the command. */
  command(experiment: string, command: CommandRequest): Promise<unknown>;
  examples(
    experiment: string,
    options: { readonly variant?: string; readonly segment?: string; readonly limit?: number },
  ): Promise<unknown>;
  exportExamples(
    experiment: string,
    options: { readonly variant?: string; readonly segment?: string },
  ): Promise<ExportStream>;
}

/** Options of {@link createCollectorClient}. */
export interface CollectorClientOptions {
  /** Per-request deadline. Default 30 000 ms. */
  readonly timeoutMs?: number;
  /** The fetch to use. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * A small HTTP client of the collector's JSON API (plain `fetch`): collector errors become
 * {@link CliError}s carrying the collector's message.
 */
export function createCollectorClient(
  baseUrl: string,
  options: CollectorClientOptions = {},
): CollectorClient {
  const base = baseUrl.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const doFetch = options.fetch ?? fetch;

  const request = async (
    path: string,
    query: Record<string, string | undefined> = {},
    init: RequestInit = {},
  ) => {
    const url = new URL(`${base}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    let res: Response;
    try {
      res = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      throw new CliError(
        CliErrorCode.Unavailable,
        `cannot reach the collector at ${base} (${cause instanceof Error ? cause.message : String(cause)}); is it running? (--url, UMBRA_COLLECTOR_URL)`,
        { cause },
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // Not the collector's JSON error shape: show the body as it is.
      }
      if (res.status === 401 || res.status === 403) {
        throw new CliError(
          CliErrorCode.Denied,
          `collector answered ${res.status}: ${message}${res.status === 401 ? " (pass --token or set UMBRA_ADMIN_TOKEN)" : ""}`,
        );
      }
      throw new CliError(
        res.status === 404 ? CliErrorCode.NotFound : CliErrorCode.Server,
        `collector answered ${res.status}: ${message}`,
      );
    }
    return res;
  };
  const path = (experiment: string, sub: string) =>
    `/experiments/${encodeURIComponent(experiment)}/${sub}`;

  return {
    baseUrl: base,
    report: async (experiment) => (await request(path(experiment, "report"))).json(),
    status: async (experiment) => (await request(path(experiment, "status"))).json(),
    decisions: async (experiment, o) =>
      (
        await request(path(experiment, "decisions"), {
          limit: o.limit === undefined ? undefined : String(o.limit),
          version: o.version,
        })
      ).json(),
    command: async (experiment, c) => {
      const body = {
        ...(c.variant === undefined ? {} : { variant: c.variant }),
        ...(c.by === undefined ? {} : { by: c.by }),
        ...(c.note === undefined ? {} : { note: c.note }),
      };
      const res = await request(
        path(experiment, c.kind),
        {},
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(c.token === undefined ? {} : { authorization: `Bearer ${c.token}` }),
          },
          body: JSON.stringify(body),
        },
      );
      return res.json();
    },
    examples: async (experiment, o) =>
      (
        await request(path(experiment, "examples"), {
          variant: o.variant,
          segment: o.segment,
          limit: o.limit === undefined ? undefined : String(o.limit),
        })
      ).json(),
    exportExamples: async (experiment, o) => {
      const res = await request(path(experiment, "export"), {
        variant: o.variant,
        segment: o.segment,
      });
      const totalHeader = res.headers.get("x-umbra-total");
      const total = totalHeader === null ? undefined : Number(totalHeader);
      return { total: Number.isFinite(total) ? total : undefined, lines: readLines(res) };
    },
  };
}

async function* readLines(res: Response): AsyncGenerator<string> {
  if (res.body === null) return;
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of res.body) {
    rest += decoder.decode(chunk as Uint8Array, { stream: true });
    let at = rest.indexOf("\n");
    while (at >= 0) {
      const line = rest.slice(0, at);
      rest = rest.slice(at + 1);
      if (line !== "") yield line;
      at = rest.indexOf("\n");
    }
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}
