import type { DivergentExample } from "@umbra/compare";
import type { CliIo } from "../cli-io.ts";
import type { CollectorClient } from "../collector-client.ts";

/** Options of `umbra examples`. */
export interface ExamplesOptions {
  readonly json?: boolean;
  readonly segment?: string;
  readonly limit?: number;
}

const MAX_VALUE_CHARS = 160;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function short(value: unknown): string {
  const s = JSON.stringify(value) ?? "undefined";
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}

/** `umbra examples <experiment> <variant>`: divergent examples kept for review. */
export async function runExamples(
  client: CollectorClient,
  experiment: string,
  variant: string,
  options: ExamplesOptions,
  io: CliIo,
): Promise<void> {
  const answer = (await client.examples(experiment, {
    variant,
    ...(options.segment === undefined ? {} : { segment: options.segment }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  })) as { total: number; examples: DivergentExample[] };
  if (options.json === true) {
    io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return;
  }
  io.stdout.write(
    `${answer.examples.length} of ${answer.total} divergent examples of ${experiment}/${variant}\n`,
  );
  for (const e of answer.examples) {
    const segment = Object.entries(e.segment)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    const why = Object.entries(e.divergentFields)
      .map(([field, reason]) => `${field}: ${reason}`)
      .join(", ");
    io.stdout.write(`\n${e.requestId}  ${segment}  similarity ${e.similarity ?? "–"}  (${why})\n`);
    const fields = Object.keys(e.divergentFields).filter(
      (f) => isRecord(e.production) && isRecord(e.shadow) && f in e.production && f in e.shadow,
    );
    if (e.diff.length > 0) {
      for (const d of e.diff.slice(0, 4)) {
        io.stdout.write(`  ${d.field}${d.path}: ${short(d.production)} → ${short(d.shadow)}\n`);
      }
    } else if (fields.length > 0 && isRecord(e.production) && isRecord(e.shadow)) {
      for (const f of fields.slice(0, 4)) {
        io.stdout.write(`  ${f}: ${short(e.production[f])} → ${short(e.shadow[f])}\n`);
      }
    } else {
      io.stdout.write(`  production ${short(e.production)}\n  shadow     ${short(e.shadow)}\n`);
    }
  }
}
