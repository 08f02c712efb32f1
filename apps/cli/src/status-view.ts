/**
 * The collector's promotion status as the CLI reads it (`GET /experiments/:name/status`). Only
 * the fields the CLI prints are declared.
 */
export interface CollectorStatus {
  readonly experiment: string;
  readonly promotion: "on" | "off";
  readonly summary: string;
  readonly specHash: string | null;
  readonly registeredSpecHash: string | null;
  readonly source: string;
  readonly owner: string | null;
  readonly control: {
    readonly mode: string;
    readonly reason: string;
    readonly sinceMs: number;
  } | null;
  readonly stage: string | null;
  readonly live: string | null;
  readonly flag: {
    readonly key: string;
    readonly revision: number | null;
    readonly problem: string | null;
  };
  readonly candidates: readonly {
    readonly variant: string;
    readonly phase: string;
    readonly stage: string;
    readonly sinceMs: number;
    readonly heldFrom: string | null;
    readonly decision: string | null;
    readonly reason: string;
  }[];
  readonly decisions: { readonly lastSeq: number; readonly unpublished: number };
  readonly lastError: string | null;
}

/** A timestamp as `2026-03-01 10:00:00Z`. */
export function formatTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * The status in words: a header line (spec version, who controls the flag, its revision, where
 * the answer came from), the summary, then one entry per candidate with its stage, since when,
 * the latest decision and its reason.
 */
export function renderStatus(status: CollectorStatus): string {
  const lines: string[] = [];
  const head = [`experiment ${status.experiment}`];
  if (status.specHash !== null) head.push(`spec ${status.specHash.slice(0, 12)}`);
  if (status.control !== null) head.push(`control: ${status.control.mode}`);
  if (status.flag.revision !== null) {
    head.push(`flag ${status.flag.key} revision ${status.flag.revision}`);
  }
  head.push(
    status.source === "memory"
      ? `from memory of ${status.owner ?? "?"}`
      : `from the checkpoint${status.owner === null ? "" : ` (held by ${status.owner})`}`,
  );
  lines.push(head.join(" · "), "", status.summary);
  if (status.control !== null && status.control.mode !== "collector") {
    lines.push(`since ${formatTime(status.control.sinceMs)}`);
  }
  if (status.flag.problem !== null) lines.push(`flag problem: ${status.flag.problem}`);
  if (status.lastError !== null) lines.push(`last tick failed: ${status.lastError}`);
  if (status.candidates.length > 0) {
    lines.push("");
    const width = Math.max(...status.candidates.map((c) => c.variant.length));
    const stageWidth = Math.max(...status.candidates.map((c) => c.stage.length));
    for (const c of status.candidates) {
      const held = c.heldFrom === null ? "" : ` (held in ${c.heldFrom})`;
      lines.push(
        `${c.variant.padEnd(width)}  ${c.stage.padEnd(stageWidth)}  since ${formatTime(c.sinceMs)}${held}${c.decision === null ? "" : `  ${c.decision}`}`,
      );
      lines.push(`${" ".repeat(width)}  ${c.reason}`);
    }
  }
  if (status.promotion === "on") {
    lines.push(
      "",
      `decision log: ${status.decisions.lastSeq} records${status.decisions.unpublished > 0 ? `, ${status.decisions.unpublished} not yet published` : ""} (umbra explain ${status.experiment})`,
    );
  }
  return `${lines.join("\n")}\n`;
}
