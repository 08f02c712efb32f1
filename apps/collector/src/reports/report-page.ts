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

/** Renders a report as a small self-contained HTML page (no scripts). */
export function renderReportPage(report: ExperimentReport): string {
  const title = `Umbra · ${escapeHtml(report.experiment)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}</style>
</head><body><h1>${title}</h1>
<p>${escapeHtml(report.spec.note)} · source ${escapeHtml(report.source)} · owner ${escapeHtml(report.owner ?? "none")}</p>
<pre>${escapeHtml(JSON.stringify(report.variants, null, 2))}</pre>
</body></html>`;
}
