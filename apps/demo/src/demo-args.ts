import { parseArgs } from "node:util";
import { UmbraError } from "@umbra/protocol";

/** What `npm run demo -- …` asks for. */
export interface DemoArgs {
  /** Non-interactive: plain log lines, no progress bar; the exit code says whether the outcomes happened. */
  readonly ci: boolean;
  /** Requests per second the traffic generator sends. */
  readonly ratePerSecond: number;
  /** How long the outcomes may take once traffic flows, before the demo gives up. */
  readonly deadlineMs: number;
  /** Seed of the traffic. */
  readonly seed: number;
  readonly help: boolean;
}

/** The usage text of the demo. */
export const DEMO_USAGE = `usage: npm run demo -- [--ci] [--rate <requests/s>] [--deadline-seconds <s>] [--seed <n>]

  --ci                    no progress bar, plain log lines; exit 0 only if A is promoted to live,
                          B rejected for latency and C rejected for its mobile segment
  --rate <n>              requests per second sent to the serving app (default 150, 10-1000)
  --deadline-seconds <s>  how long the outcomes may take once traffic flows (default 240)
  --seed <n>              seed of the generated traffic (default 1)
  --help                  this text`;

function integer(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
) {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw UmbraError.invalid(
      flag,
      `must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return n;
}

/**
 * Parses the demo's arguments (without `node` and the script). Throws an `invalid_argument`
 * UmbraError naming the flag for an unknown flag or a bad value.
 */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ci: { type: "boolean" },
        rate: { type: "string" },
        "deadline-seconds": { type: "string" },
        seed: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-[^']+)'/.exec(message)?.[1] ?? "arguments";
    throw UmbraError.invalid(flag, message.replace(/^.*?: /, "").split("\n")[0] ?? message);
  }
  const str = (k: string) => {
    const v = values[k];
    return typeof v === "string" ? v : undefined;
  };
  return {
    ci: values.ci === true,
    ratePerSecond: integer("--rate", str("rate"), 150, 10, 1_000),
    deadlineMs: integer("--deadline-seconds", str("deadline-seconds"), 240, 30, 3_600) * 1_000,
    seed: integer("--seed", str("seed"), 1, 0, 2 ** 31 - 1),
    help: values.help === true,
  };
}
