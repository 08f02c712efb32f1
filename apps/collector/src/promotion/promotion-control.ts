import type { DecisionState } from "@umbra/compare";
import type { DecisionRecord } from "@umbra/protocol";
import type { StageEvidence } from "./stage-evidence.ts";

/**
 * Who may change an experiment's flag now: the collector (`collector`), nobody automatically
 * because a human edited the routing by hand (`manual`), or nobody at all because a human set
 * the flag's `state` to `DISABLED` (`disabled`).
 */
export const ControlMode = {
  collector: "collector",
  manual: "manual",
  disabled: "disabled",
} as const;
/** One of the {@link ControlMode} values. */
export type ControlMode = (typeof ControlMode)[keyof typeof ControlMode];

/**
 * The experiment flag as the collector last wrote or accepted it: the compare-and-swap token of
 * its next write. A flag in the file that differs from it was edited by someone else.
 */
export interface FlagMark {
  /** `metadata.revision` of the flag; 0 when the flag was absent. */
  readonly revision: number;
  /** sha256 of the flag's canonical JSON; `null` when the flag was absent. */
  readonly sha256: string | null;
}

/** The latest evaluation of one candidate, for the status (kept even when not logged). */
export interface CandidateNote {
  readonly decision: string;
  readonly outcome: string;
  readonly rule: string;
  readonly reason: string;
  readonly atMs: number;
}

/** The last logged evaluation of one candidate: what the decision-log sampling compares with. */
export interface LoggedNote {
  readonly decision: string;
  readonly rule: string;
  readonly atMs: number;
}

/** The version an experiment ran before its spec changed. */
export interface PreviousRun {
  readonly specHash: string;
  /** The stage its routing was in when it was replaced. */
  readonly stage: string;
  readonly endedMs: number;
}

/**
 * The advancer's state of one experiment version, kept in the experiment's checkpoint so that a
 * decision, the evidence windows and the stream positions always move together (one
 * compare-and-swap). Plain JSON.
 */
export interface PromotionControl {
  readonly format: 1;
  /** The frozen spec's hash: the experiment version. */
  readonly specHash: string;
  /** When this version began. */
  readonly startedMs: number;
  /** The decision engine's state. */
  decision: DecisionState;
  mode: ControlMode;
  /** Why the mode is what it is, in words. */
  modeReason: string;
  modeSinceMs: number;
  /** The flag as last written or accepted; `null` before the version's first write. */
  flag: FlagMark | null;
  /** Committed records not yet on the decision stream, oldest first. */
  outbox: DecisionRecord[];
  /** Latest evaluation per candidate. */
  notes: Record<string, CandidateNote>;
  /** Last logged evaluation per candidate. */
  logged: Record<string, LoggedNote>;
  /** The version this one replaced, if any. */
  readonly previous: PreviousRun | null;
}

/** The promotion part of an experiment's state: the control and the evidence windows. */
export interface PromotionSlot {
  readonly control: PromotionControl;
  readonly evidence: StageEvidence;
}
