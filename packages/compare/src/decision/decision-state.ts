/**
 * Where a candidate is in the promotion state machine: shadow → live stages → watch → done, or
 * one of the ends rejected, rolled back; held waits for a human.
 */
export const Phase = {
  shadow: "shadow",
  live: "live",
  watch: "watch",
  held: "held",
  done: "done",
  rejected: "rejected",
  rolledBack: "rolled_back",
} as const;
/** One of the {@link Phase} values. */
export type Phase = (typeof Phase)[keyof typeof Phase];

/** The phases a candidate is actively evaluated in. */
export type ActivePhase = "shadow" | "live" | "watch";

/** The phases nothing leaves automatically. */
export const FINISHED_PHASES: ReadonlySet<Phase> = new Set(["done", "rejected", "rolled_back"]);

/** What the engine decided on one tick for one candidate. */
export const Decision = {
  /** Shadow criteria all passed: the candidate goes live in the first stage. */
  promote: "promote",
  /** A live stage (or the watch) finished cleanly: on to the next stage, the watch, or done. */
  advance: "advance",
  /** Stop and wait for a human (inconclusive at the max duration, a stalled stage, a sample-ratio mismatch). */
  hold: "hold",
  /** Requirements are met but a criterion is inconclusive: keep collecting. */
  extend: "extend",
  /** Harm in a live stage or the watch: back to the last known good. */
  rollback: "rollback",
  /** Harm in shadow: the candidate is dropped. */
  reject: "reject",
  /** Nothing to change yet (requirements not met, a stage's hold running, unhealthy evidence). */
  wait: "wait",
} as const;
/** One of the {@link Decision} values. */
export type Decision = (typeof Decision)[keyof typeof Decision];

/**
 * The `outcome` of a decision record: `pass` (promote, advance), `fail` (reject, rollback),
 * `inconclusive` (wait, extend, hold on evidence), `unhealthy` (a health check stopped the
 * tick), `manual` (a human command).
 */
export type DecisionOutcome = "pass" | "fail" | "inconclusive" | "unhealthy" | "manual";

/** Where a held candidate was when it was held, so approval can move it on from there. */
export interface HeldFrom {
  readonly phase: ActivePhase;
  readonly stage: string;
  readonly stageIndex: number;
}

/** One candidate's place in the state machine. */
export interface CandidateState {
  /** The candidate variant. */
  readonly variant: string;
  /** See {@link Phase}. */
  readonly phase: Phase;
  /** `shadow`, a live stage's name, `watch`, `held`, `done`, `rejected` or `rolled_back`. */
  readonly stage: string;
  /** The live stage's index in the spec's stages; -1 outside live stages. */
  readonly stageIndex: number;
  /** When the current evidence window (stage) began; kept while held. */
  readonly stageStartedMs: number;
  /** Set while held: where it was. */
  readonly heldFrom: HeldFrom | null;
}

/**
 * The promotion state of one experiment version: plain data, safe to checkpoint as JSON and to
 * compare-and-swap. The engine never mutates it; every step returns a new one.
 */
export interface DecisionState {
  /** The experiment. */
  readonly experiment: string;
  /** The frozen spec's hash. */
  readonly specHash: string;
  /** The `seq` of the last decision record produced (0 before any). */
  readonly seq: number;
  /** When the state was created. */
  readonly startedMs: number;
  /** The last time the state was evaluated or changed. */
  readonly updatedMs: number;
  /** The variant answering users outside a rollout: the last known good. */
  readonly live: string;
  /** The live variant before the current one, for the watch and a one-step rollback; `null` if none. */
  readonly previousLive: string | null;
  /** The candidate holding the rollout (a live stage or the watch); `null` if none. */
  readonly rollout: string | null;
  /** Every candidate of the spec (live and control variants excluded). */
  readonly candidates: Readonly<Record<string, CandidateState>>;
}
