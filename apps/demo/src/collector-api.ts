import { type DecisionRecord, type ExperimentSpec, UmbraError } from "@umbra/protocol";

/** The parts of the collector's report the demo reads. */
export interface ReportSummary {
  readonly counts: { readonly pairs: number };
  readonly comparison?: {
    readonly variants: readonly {
      readonly variant: string;
      readonly pairs: number;
      /** Pairs by shadow outcome. */
      readonly outcomes?: Readonly<Record<string, number>>;
      /** Dropped pairs and mirrors by reason. */
      readonly dropReasons?: { readonly pairs?: Readonly<Record<string, number>> };
    }[];
  };
}

/** The parts of `GET /experiments/:name/status` the demo reads. */
export interface PromotionStatusSummary {
  /** `off` when the collector does not promote the experiment. */
  readonly promotion: "on" | "off";
  /** Where the experiment stands, in words. */
  readonly summary: string;
  readonly stage: string | null;
  readonly live: string | null;
  readonly candidates: readonly {
    readonly variant: string;
    readonly stage: string;
    readonly rule: string | null;
    /** The latest decision about the candidate, in words. */
    readonly reason: string;
  }[];
  readonly decisions: { readonly lastSeq: number };
}

/** The collector's HTTP API, as the demo uses it. */
export interface CollectorApi {
  readonly url: string;
  /** Registers (or re-registers) an experiment's spec: `PUT /experiments/:name`. */
  registerSpec(spec: ExperimentSpec): Promise<void>;
  /** `GET /experiments/:name/report`; `undefined` while the collector knows nothing of it. */
  report(experiment: string): Promise<ReportSummary | undefined>;
  /** `GET /experiments/:name/status`; `undefined` when this collector has no such route. */
  status(experiment: string): Promise<PromotionStatusSummary | undefined>;
  /**
   * `GET /experiments/:name/decisions`: the decision log, oldest first; `undefined` when this
   * collector has no promotion (the route does not exist).
   */
  decisions(experiment: string): Promise<DecisionRecord[] | undefined>;
}

const TIMEOUT_MS = 5_000;

/** Creates the demo's client of a collector at `url`; mutating calls carry `adminToken`. */
export function createCollectorApi(url: string, adminToken: string): CollectorApi {
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    try {
      return await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new UmbraError("unavailable", `collector ${url}${path}: ${String(error)}`, {
        cause: error,
      });
    }
  };
  const fail = async (res: Response, what: string): Promise<never> => {
    throw new UmbraError(
      "unavailable",
      `${what}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`,
    );
  };
  return {
    url,
    async registerSpec(spec) {
      const res = await call("PUT", `/experiments/${spec.experiment}`, spec);
      if (!res.ok) await fail(res, "registering the spec");
    },
    async report(experiment) {
      const res = await call("GET", `/experiments/${experiment}/report`);
      if (res.status === 404) return undefined;
      if (!res.ok) await fail(res, "reading the report");
      return (await res.json()) as ReportSummary;
    },
    async status(experiment) {
      const res = await call("GET", `/experiments/${experiment}/status`);
      if (res.status === 404 && /no route/.test(await res.clone().text())) return undefined;
      if (!res.ok) await fail(res, "reading the promotion status");
      return (await res.json()) as PromotionStatusSummary;
    },
    async decisions(experiment) {
      const res = await call("GET", `/experiments/${experiment}/decisions`);
      if (res.status === 404) {
        const text = await res.text();
        // "no route" means an older collector without promotion; otherwise nothing decided yet.
        return /no route/.test(text) ? undefined : [];
      }
      if (!res.ok) await fail(res, "reading the decisions");
      const body = (await res.json()) as unknown;
      const list = Array.isArray(body)
        ? body
        : ((body as { decisions?: unknown; records?: unknown }).decisions ??
          (body as { records?: unknown }).records);
      if (!Array.isArray(list)) {
        throw new UmbraError("internal", "the collector's decisions are not a list");
      }
      return list as DecisionRecord[];
    },
  };
}
