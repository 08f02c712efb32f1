import { explainDecisions } from "@umbra/compare";
import type { DecisionRecord } from "@umbra/protocol";
import type { CliIo } from "../cli-io.ts";
import type { CollectorClient } from "../collector-client.ts";

/** The decision log as the collector answers it. */
interface DecisionsAnswer {
  readonly total: number;
  readonly records: readonly DecisionRecord[];
}

/**
 * The history of an experiment in words: one block per spec version (oldest first), each the
 * `explainDecisions` story of that version, repeated evaluations folded.
 */
export function renderExplanation(records: readonly DecisionRecord[], total: number): string {
  if (records.length === 0) return "no decisions yet\n";
  const versions = new Map<string, DecisionRecord[]>();
  for (const r of records) {
    const list = versions.get(r.specHash);
    if (list === undefined) versions.set(r.specHash, [r]);
    else list.push(r);
  }
  const blocks = [...versions.values()].map((list) => explainDecisions(list));
  const omitted = total - records.length;
  const note = omitted > 0 ? `(${omitted} older records not shown; --limit to see more)\n` : "";
  return `${note}${blocks.join("\n\n")}\n`;
}

/** `umbra explain <experiment>`: the decision history in words. */
export async function runExplain(
  client: CollectorClient,
  experiment: string,
  options: { readonly json: boolean; readonly limit?: number; readonly current: boolean },
  io: CliIo,
): Promise<void> {
  const answer = (await client.decisions(experiment, {
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    version: options.current ? "current" : "all",
  })) as DecisionsAnswer;
  io.stdout.write(
    options.json
      ? `${JSON.stringify(answer, null, 2)}\n`
      : renderExplanation(answer.records, options.current ? answer.records.length : answer.total),
  );
}
