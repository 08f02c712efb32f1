import type { ExperimentReport as ComparisonReport, VariantReport } from "@umbra/compare";

/**
 * The collector's report as the CLI reads it: its envelope around `@umbra/compare`'s
 * side-by-side report. Only the fields the CLI prints are declared.
 */
export interface CollectorReport {
  readonly experiment: string;
  readonly source: string;
  readonly owner: string | null;
  readonly spec: { readonly hash: string | null; readonly note: string };
  readonly counts: { readonly pairs: number };
  readonly comparison: ComparisonReport;
}

const pct = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`;
const ms = (x: number | null | undefined) =>
  x === null || x === undefined ? "–" : `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`;

type Row = readonly [label: string, cell: (v: VariantReport) => string];

/** The rows of the side-by-side table, in order. */
const ROWS: readonly Row[] = [
  ["pairs", (v) => String(v.pairs)],
  ["coverage", (v) => (v.coverage.ratio === null ? "– (no exposures)" : pct(v.coverage.ratio, 1))],
  [
    "divergence",
    (v) =>
      v.divergence.rate === null
        ? "– (nothing compared)"
        : `${pct(v.divergence.rate)} [${pct(v.divergence.lower)}, ${pct(v.divergence.upper)}]`,
  ],
  ["divergence bucket", (v) => v.divergence.bucket ?? "–"],
  ["similarity p50", (v) => (v.similarity.p50 === null ? "–" : v.similarity.p50.toFixed(3))],
  ["latency p99 prod", (v) => ms(v.latencyMs.production.p99)],
  ["latency p99 shadow", (v) => ms(v.latencyMs.shadow.p99)],
  ["error rate", (v) => pct(v.errorRate.rate)],
  ["timeout rate", (v) => pct(v.timeoutRate.rate)],
  ["drop rate", (v) => pct(v.dropRate.rate)],
  ["side effects", (v) => `${v.sideEffectAttempts} (${v.pairsWithSideEffects} pairs)`],
  [
    "worst segment",
    (v) => {
      const s = v.worstSegments[0];
      return s === undefined ? "–" : `${s.attribute}=${s.value} ${pct(s.divergence.rate, 1)}`;
    },
  ],
  [
    "top feature",
    (v) => {
      const n = v.features.numeric.find((f) => f.correlation !== null);
      if (n !== undefined) return `${n.feature} r=${(n.correlation as number).toFixed(2)}`;
      const c = v.features.categorical[0];
      return c === undefined ? "–" : `${c.feature}=${c.value} ${pct(c.rate, 1)}`;
    },
  ],
];

/**
 * Renders the report as a text table with one column per shadow variant (the control first),
 * preceded by a header line and followed by notes (comparator used, control variant).
 */
export function renderReportTable(report: CollectorReport): string {
  const variants = report.comparison.variants;
  const lines: string[] = [];
  lines.push(
    `experiment ${report.experiment} · ${report.counts.pairs} pairs · spec ${report.spec.hash?.slice(0, 12) ?? "none"} · from ${report.source}${report.owner === null ? "" : ` of ${report.owner}`}`,
  );
  if (variants.length === 0) {
    lines.push("no pairs yet");
    lines.push(`note: ${report.spec.note}`);
    return `${lines.join("\n")}\n`;
  }
  const header = ["", ...variants.map((v) => (v.control ? `${v.variant} (control)` : v.variant))];
  const body = ROWS.map(([label, cell]) => [label, ...variants.map((v) => cell(v))]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)),
  );
  const format = (row: readonly string[]) =>
    row
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  lines.push(format(header));
  lines.push(widths.map((w) => "─".repeat(w)).join("  "));
  for (const row of body) lines.push(format(row));
  lines.push("");
  lines.push(`note: ${report.spec.note}`);
  lines.push(
    "divergence: rate [95% Wilson interval]; bucket <1% safe · 1–5% investigate · 5–10% edge cases · >10% do not roll out",
  );
  return `${lines.join("\n")}\n`;
}
