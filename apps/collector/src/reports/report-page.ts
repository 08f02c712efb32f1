import type { ExperimentReport } from "./experiment-report.ts";

const escapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "–" : `${(x * 100).toFixed(2)}%`;
const num = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? "–" : x.toFixed(digits);

/** Renders a report as a small self-contained HTML page (no scripts): variants as columns. */
export function renderReportPage(report: ExperimentReport): string {
  const title = `Umbra · ${escapeHtml(report.experiment)}`;
  const variants = report.comparison.variants;
  const rows: [string, (v: (typeof variants)[number]) => string][] = [
    ["pairs", (v) => String(v.pairs)],
    ["coverage", (v) => pct(v.coverage.ratio)],
    [
      "divergence (95% CI)",
      (v) => `${pct(v.divergence.rate)} [${pct(v.divergence.lower)}, ${pct(v.divergence.upper)}]`,
    ],
    ["bucket", (v) => v.divergence.bucket ?? "–"],
    ["similarity p50", (v) => num(v.similarity.p50, 3)],
    ["prod p99 ms", (v) => num(v.latencyMs.production.p99)],
    ["shadow p99 ms", (v) => num(v.latencyMs.shadow.p99)],
    ["error rate", (v) => pct(v.errorRate.rate)],
    ["timeout rate", (v) => pct(v.timeoutRate.rate)],
    ["drop rate", (v) => pct(v.dropRate.rate)],
    ["side effects", (v) => String(v.sideEffectAttempts)],
  ];
  const head = variants.map((v) => `<th>${escapeHtml(v.variant)}</th>`).join("");
  const body = rows
    .map(
      ([label, cell]) =>
        `<tr><td>${escapeHtml(label)}</td>${variants.map((v) => `<td>${escapeHtml(cell(v))}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}</style>
</head><body><h1>${title}</h1>
<p>${escapeHtml(report.spec.note)} · ${report.counts.pairs} pairs · source ${escapeHtml(report.source)} · owner ${escapeHtml(report.owner ?? "none")}</p>
<table><thead><tr><th></th>${head}</tr></thead><tbody>
${body}
</tbody></table>
</body></html>`;
}
