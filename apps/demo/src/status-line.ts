import type { DecisionRecord } from "@umbra/protocol";
import type { CandidateStanding, DemoOutcome } from "./demo-outcome.ts";
import type { TrafficStats } from "./traffic-generator.ts";

/** Everything the demo shows at one moment. */
export interface DemoSnapshot {
  /** Since traffic started. */
  readonly elapsedMs: number;
  readonly traffic: TrafficStats;
  /** Share of the serving app's recent answers per live variant (0–1), e.g. `{ prod: 0.75, A: 0.25 }`. */
  readonly answers: Readonly<Record<string, number>>;
  readonly outcome: DemoOutcome;
  /** Whether the collector promotes (otherwise the demo only compares). */
  readonly promotion: boolean;
  /** The collector's summary of the experiment in words (live variant, rollout, mirrors). */
  readonly summary: string | undefined;
  /** The latest decision about each candidate, in words, from the collector's status. */
  readonly reasons: Readonly<Record<string, string>>;
}

/** The promotion path of a candidate, in order; its index is the progress bar's value. */
export const PROMOTION_PATH = [
  "shadow",
  "live-1",
  "live-5",
  "live-25",
  "live-50",
  "live-100",
  "watch",
  "done",
] as const;

/** How far along the promotion path a stage is (0 for shadow and every stage off the path). */
export function promotionStep(stage: string): number {
  const i = (PROMOTION_PATH as readonly string[]).indexOf(stage);
  return Math.max(i, 0);
}

/** Formats a duration in ms as `m:ss`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1_000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Formats a whole number with a space between thousands: `12 402`. */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/**
 * A decision rule in a few words: `criterion.latency_p99` → `p99 latency`,
 * `criterion.divergence[device=mobile]` → `divergence on device=mobile`.
 */
export function ruleInWords(rule: string | undefined): string {
  if (rule === undefined || rule === "") return "";
  const m = /^(\w+)\.(\w+)(?:\[(.+)\])?$/.exec(rule);
  if (m === null) return rule;
  const [, group, metric, scope] = m;
  const words: Record<string, string> = {
    latency_p99: "p99 latency",
    divergence: "divergence",
    error_rate: "error rate",
    quality: "quality",
    side_effects: "side effects",
    all_pass: "every criterion passed",
    complete: "stage complete",
  };
  const what = words[metric ?? ""] ?? metric?.replaceAll("_", " ") ?? rule;
  const where = scope === undefined || scope === "overall" ? "" : ` on ${scope}`;
  return group === "requirement" ? `waiting for ${what}${where}` : `${what}${where}`;
}

/** One candidate's state in a few words: `live-25`, `rejected (p99 latency)`. */
export function standingInWords(s: CandidateStanding): string {
  if (s.stage === "rejected" || s.stage === "rolled_back" || s.stage === "held") {
    const why = ruleInWords(s.rule);
    return why === "" ? s.stage.replace("_", " ") : `${s.stage.replace("_", " ")} (${why})`;
  }
  return s.stage;
}

/** The serving app's recent answers by variant: `prod 75% · A 25%`. */
export function answersInWords(answers: Readonly<Record<string, number>>): string {
  const entries = Object.entries(answers).filter(([, share]) => share > 0);
  if (entries.length === 0) return "none yet";
  return entries
    .sort(([a], [b]) => (a === "prod" ? -1 : b === "prod" ? 1 : a < b ? -1 : 1))
    .map(([v, share]) => `${v} ${(share * 100).toFixed(share < 0.1 && share > 0 ? 1 : 0)}%`)
    .join(" · ");
}

/** The traffic line: `14 402 requests · 200/s · p99 9 ms · 0 failed · answered by prod 75% · A 25%`. */
export function trafficLine(s: DemoSnapshot): string {
  const t = s.traffic;
  const p99 = t.p99Ms === null ? "–" : `${t.p99Ms.toFixed(0)} ms`;
  const skipped = t.skipped > 0 ? ` · ${formatCount(t.skipped)} skipped` : "";
  return `${formatCount(t.sent)} requests · ${t.recentRatePerSecond.toFixed(0)}/s · p99 ${p99} · ${formatCount(t.failed)} failed${skipped} · answered by ${answersInWords(s.answers)}`;
}

/** The status line: each candidate's stage and, for the one in play, what it waits for. */
export function statusLine(s: DemoSnapshot): string {
  if (!s.promotion) return "collector compares only (no promotion in this collector)";
  return s.outcome.candidates.map((c) => `${c.variant} ${standingInWords(c.standing)}`).join(" · ");
}

/** A decision transition as one log line: `A  shadow → live-1  promote — <reason>`. */
export function transitionLine(record: DecisionRecord): string {
  const variant = typeof record.evidence.variant === "string" ? record.evidence.variant : "?";
  const decision =
    typeof record.evidence.decision === "string" ? record.evidence.decision : record.outcome;
  return `${variant}  ${record.from} → ${record.to}  ${decision} — ${record.reason}`;
}

/**
 * The latest decision, in words, about the candidate still in play (the first not ended, A at
 * the end): what it waits for, or why it moved.
 */
export function focusReason(s: DemoSnapshot): string {
  const inPlay = s.outcome.candidates.find(
    (c) => !["done", "rejected", "rolled_back", "held"].includes(c.standing.stage),
  );
  const variant = inPlay?.variant ?? "A";
  return s.reasons[variant] ?? s.outcome.candidates[0].standing.latest ?? "";
}
