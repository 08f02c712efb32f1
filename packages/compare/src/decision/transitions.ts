import type { DecisionRecord } from "@umbra/protocol";
import type { CandidateState, DecisionState } from "./decision-state.ts";
import { decisionRecord, type EngineContext } from "./engine-context.ts";

/** Where a transition takes a candidate. */
export type Target =
  | { readonly phase: "live"; readonly stageIndex: number }
  | { readonly phase: "watch" }
  | { readonly phase: "done" }
  | { readonly phase: "rejected" }
  | { readonly phase: "rolled_back" }
  | { readonly phase: "held" };

/** A candidate moved as a consequence of another's transition (the live variant changed). */
export interface KnockOn {
  readonly variant: string;
  readonly from: string;
  readonly to: string;
  readonly previousLive: string;
  readonly newLive: string;
}

/** The stage name a target lands on. */
export function stageOfTarget(ctx: EngineContext, target: Target): string {
  if (target.phase === "live") return ctx.stages[target.stageIndex]?.name ?? "live";
  return target.phase;
}

/** The target after a stage finishes cleanly: the next live stage, the watch, or done. */
export function nextTarget(ctx: EngineContext, c: { phase: string; stageIndex: number }): Target {
  if (c.phase === "shadow") return { phase: "live", stageIndex: 0 };
  if (c.phase === "live" && c.stageIndex + 1 < ctx.stages.length) {
    return { phase: "live", stageIndex: c.stageIndex + 1 };
  }
  if (c.phase === "live" && ctx.watchMs > 0) return { phase: "watch" };
  return { phase: "done" };
}

/**
 * Moves one candidate to `target` and keeps the experiment consistent: the rollout slot, the
 * live variant and the last known good follow, and when the live variant changes every other
 * candidate still in shadow is held (its comparisons were against the old live variant).
 */
export function move(
  ctx: EngineContext,
  state: DecisionState,
  variant: string,
  target: Target,
  nowMs: number,
): { state: DecisionState; knockOn: KnockOn[] } {
  const c = state.candidates[variant];
  if (c === undefined) throw new Error(`unknown candidate ${variant}`);
  const candidates: Record<string, CandidateState> = { ...state.candidates };
  let { live, previousLive, rollout } = state;
  const knockOn: KnockOn[] = [];
  const becomeLive = (): void => {
    if (live === variant) return;
    const old = live;
    previousLive = live;
    live = variant;
    for (const [name, other] of Object.entries(candidates)) {
      if (name === variant || other.phase !== "shadow") continue;
      candidates[name] = {
        ...other,
        phase: "held",
        stage: "held",
        heldFrom: { phase: "shadow", stage: other.stage, stageIndex: other.stageIndex },
      };
      knockOn.push({
        variant: name,
        from: other.stage,
        to: "held",
        previousLive: old,
        newLive: live,
      });
    }
  };
  const fresh = (
    phase: CandidateState["phase"],
    stage: string,
    stageIndex = -1,
  ): CandidateState => ({
    variant,
    phase,
    stage,
    stageIndex,
    stageStartedMs: nowMs,
    heldFrom: null,
  });
  switch (target.phase) {
    case "live":
      rollout = variant;
      candidates[variant] = fresh("live", stageOfTarget(ctx, target), target.stageIndex);
      break;
    case "watch":
      becomeLive();
      rollout = variant;
      candidates[variant] = fresh("watch", "watch");
      break;
    case "done":
      becomeLive();
      rollout = null;
      candidates[variant] = fresh("done", "done");
      break;
    case "rejected":
      if (rollout === variant) rollout = null;
      candidates[variant] = fresh("rejected", "rejected");
      break;
    case "rolled_back":
      if (live === variant) {
        live = previousLive ?? ctx.spec.live;
        previousLive = null;
      }
      if (rollout === variant) rollout = null;
      candidates[variant] = fresh("rolled_back", "rolled_back");
      break;
    case "held":
      candidates[variant] = {
        ...c,
        phase: "held",
        stage: "held",
        heldFrom:
          c.phase === "shadow" || c.phase === "live" || c.phase === "watch"
            ? { phase: c.phase, stage: c.stage, stageIndex: c.stageIndex }
            : c.heldFrom,
      };
      break;
  }
  return {
    state: { ...state, live, previousLive, rollout, candidates, updatedMs: nowMs },
    knockOn,
  };
}

/** Records for candidates knocked into `held` because the live variant changed. */
export function knockOnRecords(
  ctx: EngineContext,
  knockOn: readonly KnockOn[],
  seq: number,
  nowMs: number,
  actor: string,
): DecisionRecord[] {
  return knockOn.map((k, i) =>
    decisionRecord(ctx, {
      seq: seq + i + 1,
      atMs: nowMs,
      from: k.from,
      to: k.to,
      outcome: "inconclusive",
      rule: "live_changed",
      reason: `${k.variant} held for a human: ${k.newLive} became the live variant, so ${k.variant}'s comparisons against ${k.previousLive} no longer describe what it would replace.`,
      actor,
      evidence: {
        variant: k.variant,
        decision: "hold",
        previousLive: k.previousLive,
        live: k.newLive,
      },
    }),
  );
}
