import { isSubjectToken, UmbraError } from "@umbra/protocol";

/** What the serving app reads from its environment, validated once by {@link loadServingConfig}. */
export interface ServingConfig {
  /** The experiment whose flag routes requests (`UMBRA_EXPERIMENT`). */
  readonly experiment: string;
  /** NATS server URL for pair records (`UMBRA_NATS_URL`). */
  readonly natsUrl: string;
  /** The flagd sync endpoint — flagd's, or the collector's (`UMBRA_FLAGD_ADDRESS`, `host:port`). */
  readonly flagd: { readonly host: string; readonly port: number };
  /** Variant name → `host:port` of its Open Inference Protocol server (`UMBRA_VARIANTS`, `prod=127.0.0.1:4001,A=…`). */
  readonly variants: Readonly<Record<string, string>>;
  /** The model name every variant server serves (`UMBRA_MODEL`). */
  readonly model: string;
  /** The variant answering when the flag says nothing (`UMBRA_DEFAULT_VARIANT`). */
  readonly defaultVariant: string;
  /** Port of the HTTP server (`UMBRA_HTTP_PORT`); 0 picks a free one. */
  readonly httpPort: number;
}

function address(name: string, raw: string): { host: string; port: number } {
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
  const port = Number(m?.[2]);
  if (m === null || !(port >= 1 && port <= 65_535)) {
    throw UmbraError.invalid(name, `must be host:port (got ${JSON.stringify(raw)})`);
  }
  return { host: m[1] as string, port };
}

/**
 * Reads the serving app's configuration from `env` and fails fast: a missing or invalid value
 * throws an `invalid_argument` UmbraError naming the variable and the rule.
 */
export function loadServingConfig(
  env: Readonly<Record<string, string | undefined>>,
): ServingConfig {
  const required = (name: string): string => {
    const v = env[name]?.trim();
    if (v === undefined || v === "") throw UmbraError.invalid(name, "is required");
    return v;
  };
  const experiment = required("UMBRA_EXPERIMENT");
  if (!isSubjectToken(experiment)) {
    throw UmbraError.invalid("UMBRA_EXPERIMENT", "must be 1-64 characters of A-Z a-z 0-9 _ -");
  }
  const natsUrl = required("UMBRA_NATS_URL");
  if (!/^nats:\/\/[^/\s]+:\d+$/.test(natsUrl)) {
    throw UmbraError.invalid(
      "UMBRA_NATS_URL",
      `must be nats://host:port (got ${JSON.stringify(natsUrl)})`,
    );
  }
  const flagd = address("UMBRA_FLAGD_ADDRESS", required("UMBRA_FLAGD_ADDRESS"));
  const variants: Record<string, string> = {};
  for (const entry of required("UMBRA_VARIANTS").split(",")) {
    const [name, addr, ...rest] = entry.split("=");
    if (
      name === undefined ||
      addr === undefined ||
      rest.length > 0 ||
      !isSubjectToken(name.trim())
    ) {
      throw UmbraError.invalid(
        "UMBRA_VARIANTS",
        `must be a comma-separated list of name=host:port (got ${JSON.stringify(entry)})`,
      );
    }
    const a = address("UMBRA_VARIANTS", addr);
    variants[name.trim()] = `${a.host}:${a.port}`;
  }
  const model = env.UMBRA_MODEL?.trim() || "intent";
  const defaultVariant = env.UMBRA_DEFAULT_VARIANT?.trim() || "prod";
  if (!(defaultVariant in variants)) {
    throw UmbraError.invalid(
      "UMBRA_DEFAULT_VARIANT",
      `must name one of UMBRA_VARIANTS (${Object.keys(variants).join(", ")})`,
    );
  }
  const rawPort = env.UMBRA_HTTP_PORT?.trim() || "0";
  const httpPort = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || httpPort > 65_535) {
    throw UmbraError.invalid("UMBRA_HTTP_PORT", "must be an integer from 0 to 65535");
  }
  return { experiment, natsUrl, flagd, variants, model, defaultVariant, httpPort };
}
