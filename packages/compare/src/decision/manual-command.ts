import { type DecisionRecord, UmbraError } from "@umbra/protocol";
import type { CandidateState, DecisionState } from "./decision-state.ts";
import { decisionRecord, type EngineContext } from "./engine-context.ts";
import { type Routing, routingOf } from "./routing.ts";
import { knockOnRecords, move, nextTarget, stageOfTarget, type Target } from "./transitions.ts";

/** The commands a human can give. */
export const ManualCommandKind = {
  /** Release a held candidate: it moves on to the step after the one it was held in. */
  approve: "approve",
  /** Stop a candidate where it is until a human acts. */
  hold: "hold",
  /** Skip ahead: to the 100% stage (from shadow or a live stage), or end the watch. */
  promote: "promote",
  /** Back to the last known good (a candidate that served live traffic). */
  rollback: "rollback",
} as const;
/** One of the {@link ManualCommandKind} values. */
export type ManualCommandKind = (typeof ManualCommandKind)[keyof typeof ManualCommandKind];

/** A human command. */
export interface ManualCommand {
  /** See {@link ManualCommandKind}. */
  readonly kind: ManualCommandKind;
  /** The candidate. */
  readonly variant: string;
  /** Who: `human:<name>`. */
  readonly actor: string;
  /** Why, in the human's words (kept in the record). */
  readonly note?: string;
}

/** The result of a command. */
export interface CommandResult {
  /** The state to store. */
  readonly nextState: DecisionState;
  /** The command's record, then any knock-on records (candidates held because the live variant changed). */
  readonly records: readonly DecisionRecord[];
  /** Whether the flag must be rewritten. */
  readonly routingChanged: boolean;
}

function illegal(kind: string, rule: string): UmbraError {
  return UmbraError.invalid("kind", `${kind} is not allowed: ${rule}`);
}

function activePhase(c: CandidateState): string {
  return c.phase === "held" ? (c.heldFrom?.phase ?? "shadow") : c.phase;
}

function claimRollout(kind: string, state: DecisionState, variant: string): void {
  if (state.rollout !== null && state.rollout !== variant) {
    throw illegal(kind, `${state.rollout} holds the rollout; one candidate goes live at a time`);
  }
}

function targetOf(
  ctx: EngineContext,
  state: DecisionState,
  command: ManualCommand,
  c: CandidateState,
): Target {
  const { kind, variant } = command;
  const phase = activePhase(c);
  switch (kind) {
    case "hold":
      if (c.phase === "held") throw illegal(kind, `${variant} is already held`);
      if (c.phase !== "shadow" && c.phase !== "live" && c.phase !== "watch") {
        throw illegal(
          kind,
          `hold needs a candidate in shadow, a live stage or the watch; ${variant} is ${c.phase}`,
        );
      }
      return { phase: "held" };
    case "approve": {
      if (c.phase !== "held" || c.heldFrom === null) {
        throw illegal(kind, `approve releases a held candidate; ${variant} is ${c.phase}`);
      }
      if (c.heldFrom.phase === "shadow") claimRollout(kind, state, variant);
      return nextTarget(ctx, c.heldFrom);
    }
    case "promote": {
      if (phase === "watch") return { phase: "done" };
      if (phase !== "shadow" && phase !== "live") {
        throw illegal(
          kind,
          `promote needs a candidate in shadow, a live stage or the watch; ${variant} is ${c.phase}`,
        );
      }
      if (phase === "shadow") claimRollout(kind, state, variant);
      const last = ctx.stages.length - 1;
      const index = c.phase === "held" ? (c.heldFrom?.stageIndex ?? -1) : c.stageIndex;
      if (phase === "live" && index >= last)
        return nextTarget(ctx, { phase: "live", stageIndex: last });
      return { phase: "live", stageIndex: last };
    }
    case "rollback": {
      if (phase === "live" || phase === "watch") return { phase: "rolled_back" };
      if (c.phase === "done") {
        if (state.live !== variant || state.previousLive === null) {
          throw illegal(
            kind,
            `${variant} is no longer the live variant, or there is no last known good to return to`,
          );
        }
        return { phase: "rolled_back" };
      }
      if (phase === "shadow") {
        throw illegal(
          kind,
          `rollback needs a candidate that served live traffic; ${variant} is in shadow — hold it instead`,
        );
      }
      throw illegal(kind, `${variant} is already ${c.phase}`);
    }
    default:
      throw UmbraError.invalid("kind", "must be approve, hold, promote or rollback");
  }
}

const ACTOR = /^human:[^\s]{1,122}$/;

/** Applies a human command; see {@link ManualCommandKind} for what each does and when it is allowed. */
export function applyCommand(
  ctx: EngineContext,
  state: DecisionState,
  command: ManualCommand,
  nowMs: number,
): CommandResult {
  if (typeof command.actor !== "string" || !ACTOR.test(command.actor)) {
    throw UmbraError.invalid("actor", "must be human:<name> (1-122 characters, no spaces)");
  }
  if (
    command.note !== undefined &&
    (typeof command.note !== "string" || command.note.length > 1024)
  ) {
    throw UmbraError.invalid("note", "must be a string of at most 1024 characters");
  }
  const c = state.candidates[command.variant];
  if (c === undefined) {
    throw new UmbraError(
      "not_found",
      `variant: ${command.variant} is not a candidate of ${ctx.spec.experiment}`,
      {
        field: "variant",
        rule: "must name a candidate of the experiment",
      },
    );
  }
  const target = targetOf(ctx, state, command, c);
  const before: Routing = routingOf(ctx, state);
  const moved = move(ctx, state, command.variant, target, nowMs);
  const to = stageOfTarget(ctx, target);
  const note = command.note === undefined ? "" : ` — "${command.note}"`;
  const record = decisionRecord(ctx, {
    seq: state.seq + 1,
    atMs: nowMs,
    from: c.stage,
    to,
    outcome: "manual",
    rule: `manual.${command.kind}`,
    reason: `${command.actor} ran ${command.kind} on ${command.variant}: ${c.stage} → ${to}${note}.`,
    actor: command.actor,
    evidence: {
      variant: command.variant,
      decision: command.kind,
      command: command.kind,
      ...(command.note === undefined ? {} : { note: command.note }),
    },
  });
  const extra = knockOnRecords(ctx, moved.knockOn, state.seq + 1, nowMs, command.actor);
  const nextState = { ...moved.state, seq: state.seq + 1 + extra.length };
  return {
    nextState,
    records: [record, ...extra],
    routingChanged: JSON.stringify(before) !== JSON.stringify(routingOf(ctx, nextState)),
  };
}
