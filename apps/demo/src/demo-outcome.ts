import type { DecisionRecord } from "@umbra/protocol";

/** Where one candidate stands, read from the decision log. */
export interface CandidateStanding {
  readonly variant: string;
  /** The stage after its last transition (`shadow` before any). */
  readonly stage: string;
  /** The rule of its last transition (`criterion.latency_p99`, `criteria.all_pass`…), if any. */
  readonly rule: string | undefined;
  /** Its last transition in words, if any. */
  readonly reason: string | undefined;
  /** The last decision about it in words, transition or not. */
  readonly latest: string | undefined;
}

/** What the demo set out to show about one candidate, and whether it happened. */
export interface ExpectedOutcome {
  readonly variant: "A" | "B" | "C";
  /** The outcome in words: `promoted to live`, `rejected for latency`… */
  readonly expected: string;
  readonly standing: CandidateStanding;
  /** It happened. */
  readonly met: boolean;
  /** It can no longer happen (the candidate ended somewhere else). */
  readonly missed: boolean;
}

/** The demo's verdict so far. */
export interface DemoOutcome {
  readonly candidates: readonly [ExpectedOutcome, ExpectedOutcome, ExpectedOutcome];
  /** All three happened. */
  readonly met: boolean;
  /** At least one can no longer happen. */
  readonly missed: boolean;
}

const ENDED = new Set(["done", "rejected", "rolled_back", "held"]);

function variantOf(record: DecisionRecord): string | undefined {
  const v = record.evidence.variant;
  return typeof v === "string" ? v : undefined;
}

/** Each candidate's stage and the reason it got there, from decision records in any order. */
export function standings(
  records: readonly DecisionRecord[],
  candidates: readonly string[],
): Record<string, CandidateStanding> {
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  const out: Record<string, CandidateStanding> = {};
  for (const variant of candidates) {
    let stage = "shadow";
    let rule: string | undefined;
    let reason: string | undefined;
    let latest: string | undefined;
    for (const r of sorted) {
      if (variantOf(r) !== variant) continue;
      latest = r.reason;
      if (r.from !== r.to) {
        stage = r.to;
        rule = r.rule;
        reason = r.reason;
      }
    }
    out[variant] = { variant, stage, rule, reason, latest };
  }
  return out;
}

/**
 * Judges the decision log against what the demo is meant to show: A promoted through the
 * stages to live (in the post-promotion watch or done), B rejected for its p99 latency, C
 * rejected for its mobile segment. A candidate that ended anywhere else is `missed`.
 */
export function judgeOutcome(records: readonly DecisionRecord[]): DemoOutcome {
  const s = standings(records, ["A", "B", "C"]);
  const a = s.A as CandidateStanding;
  const b = s.B as CandidateStanding;
  const c = s.C as CandidateStanding;
  const aMet = a.stage === "watch" || a.stage === "done";
  const bMet = b.stage === "rejected" && /latency/.test(b.rule ?? "");
  const cMet = c.stage === "rejected" && /device=mobile/.test(c.rule ?? "");
  const candidates: DemoOutcome["candidates"] = [
    {
      variant: "A",
      expected: "promoted through the stages to live",
      standing: a,
      met: aMet,
      missed: !aMet && ENDED.has(a.stage),
    },
    {
      variant: "B",
      expected: "rejected for its p99 latency",
      standing: b,
      met: bMet,
      missed: !bMet && (ENDED.has(b.stage) || b.stage.startsWith("live")),
    },
    {
      variant: "C",
      expected: "rejected for its mobile segment",
      standing: c,
      met: cMet,
      missed: !cMet && (ENDED.has(c.stage) || c.stage.startsWith("live")),
    },
  ];
  return {
    candidates,
    met: candidates.every((x) => x.met),
    missed: candidates.some((x) => x.missed),
  };
}
