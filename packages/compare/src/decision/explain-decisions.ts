import type { DecisionRecord } from "@umbra/protocol";

/** Options of {@link explainDecisions}. */
export interface ExplainOptions {
  /**
   * Fold repeated evaluations that changed nothing (same candidate, stage, decision and rule)
   * into the first one with a count and the time of the last. Default true.
   */
  readonly collapse?: boolean;
}

interface Line {
  readonly record: DecisionRecord;
  readonly variant: string;
  readonly decision: string;
  repeats: number;
  lastAtMs: number;
}

function time(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

function text(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

/**
 * A decision history in words, one line per decision, oldest first: when, the sequence number,
 * the candidate, the stage transition, the decision, who made it and why. This is what
 * `umbra explain <experiment>` prints.
 *
 * @example
 * ```ts
 * console.log(explainDecisions(records));
 * // ranker (spec 3f2a9c1d7b0e): 3 decisions
 * // 2026-03-01 10:00:00Z  #1  A  shadow  wait  by collector — A waits: 120 of 2 000 compared pairs.
 * ```
 */
export function explainDecisions(
  records: readonly DecisionRecord[],
  options: ExplainOptions = {},
): string {
  if (records.length === 0) return "no decisions yet";
  const collapse = options.collapse ?? true;
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  const lines: Line[] = [];
  // Per candidate, the last line that may absorb a repeat; a transition closes it.
  const open = new Map<string, Line>();
  for (const record of sorted) {
    const variant = text(record.evidence.variant, "?");
    const decision = text(record.evidence.decision, record.outcome);
    const last = open.get(variant);
    const same =
      last !== undefined &&
      record.from === record.to &&
      last.record.from === record.from &&
      last.record.to === record.to &&
      last.decision === decision &&
      last.record.rule === record.rule &&
      last.record.actor === record.actor;
    if (collapse && same && last !== undefined) {
      last.repeats++;
      last.lastAtMs = record.atMs;
      continue;
    }
    const line: Line = { record, variant, decision, repeats: 1, lastAtMs: record.atMs };
    lines.push(line);
    if (record.from === record.to) open.set(variant, line);
    else open.delete(variant);
  }
  const first = sorted[0] as DecisionRecord;
  const header = `${first.experiment} (spec ${first.specHash.slice(0, 12)}): ${records.length} decision${records.length === 1 ? "" : "s"}`;
  const body = lines.map(({ record, variant, decision, repeats, lastAtMs }) => {
    const stage = record.from === record.to ? record.from : `${record.from} → ${record.to}`;
    const folded = repeats > 1 ? ` (×${repeats} until ${time(lastAtMs)})` : "";
    return `${time(record.atMs)}  #${record.seq}  ${variant}  ${stage}  ${decision}  by ${record.actor}${folded} — ${record.reason}`;
  });
  return [header, ...body].join("\n");
}
