import {
  type DecisionRecord,
  type ExperimentSpec,
  specHash as hashSpec,
  UmbraError,
} from "@umbra/protocol";
import { planAlpha } from "./alpha-plan.ts";
import {
  criterionChecks,
  healthChecks,
  holdRequirement,
  judgedScopes,
  shadowAnchorMs,
  shadowRequirements,
  windowAlpha,
} from "./candidate-checks.ts";
import type { Check } from "./check.ts";
import { type DecisionPolicy, resolveDecisionPolicy } from "./decision-policy.ts";
import {
  type ActivePhase,
  type CandidateState,
  type Decision,
  type DecisionOutcome,
  type DecisionState,
  FINISHED_PHASES,
} from "./decision-state.ts";
import { candidatesOf, decisionRecord, type EngineContext, stagesOf } from "./engine-context.ts";
import {
  type CandidateEvidence,
  checkExperimentEvidence,
  type ExperimentEvidence,
  emptyCandidateEvidence,
} from "./evidence.ts";
import { formatCount, formatDuration, formatRate } from "./format.ts";
import { applyCommand, type CommandResult, type ManualCommand } from "./manual-command.ts";
import { type Routing, routingOf } from "./routing.ts";
import {
  type KnockOn,
  knockOnRecords,
  move,
  nextTarget,
  stageOfTarget,
  type Target,
} from "./transitions.ts";

/** One candidate's result of one tick. */
export interface CandidateEvaluation {
  /** The candidate. */
  readonly variant: string;
  /** What the engine decided. */
  readonly decision: Decision;
  /** The stage before. */
  readonly from: string;
  /** The stage after (equal to `from` when nothing moved). */
  readonly to: string;
  /** The class of the result; see {@link DecisionOutcome}. */
  readonly outcome: DecisionOutcome;
  /** The id of the check or rule that decided, e.g. `criterion.quality[device=mobile]`, `criteria.all_pass`. */
  readonly rule: string;
  /** The decision in words. */
  readonly reason: string;
  /** Every check of the tick, in evaluation order: health, criteria, requirements. */
  readonly checks: readonly Check[];
}

/** The result of one tick of the engine for one experiment. */
export interface Evaluation {
  /** The state to store (compare-and-swap against the one evaluated). */
  readonly nextState: DecisionState;
  /** One entry per candidate still in play, in evaluation order. */
  readonly candidates: readonly CandidateEvaluation[];
  /** Decision records to append to the decision log, `seq` increasing. */
  readonly records: readonly DecisionRecord[];
  /** Whether the flag must be rewritten ({@link DecisionEngine.routing} changed). */
  readonly routingChanged: boolean;
}

/** Options of {@link createDecisionEngine}. */
export interface DecisionEngineOptions {
  /** The frozen, validated spec (from `parseExperimentSpec`). */
  readonly spec: ExperimentSpec;
  /** Its hash, if already known (computed from the spec otherwise). */
  readonly specHash?: string;
  /** Operational parameters; see {@link DecisionPolicy}. */
  readonly policy?: Partial<DecisionPolicy>;
}

/**
 * The promotion engine of one experiment version: pure and deterministic. The caller owns
 * time (a `nowMs` on every call, from a `Clock`), storage of the {@link DecisionState}, the
 * flag writes and the decision log; the engine turns state + evidence into the next state,
 * the decisions and their records.
 */
export interface DecisionEngine {
  /** The frozen spec. */
  readonly spec: ExperimentSpec;
  /** The spec's hash: the experiment version. */
  readonly specHash: string;
  /** The resolved policy. */
  readonly policy: DecisionPolicy;
  /** The candidates, in spec order. */
  readonly candidates: readonly string[];
  /** The state of a new experiment: every candidate in shadow from `nowMs`. */
  start(nowMs: number): DecisionState;
  /**
   * One tick: for each candidate, health first (traffic, coverage, delivery loss, collector lag,
   * sample ratio in live stages), then harm (a criterion failed with confidence: reject in
   * shadow, roll back live), then requirements (min duration, min samples overall and per
   * segment; a live stage's hold), then the criteria (all must pass to promote). Throws an
   * `invalid_argument` UmbraError for evidence of another spec version or malformed evidence.
   */
  evaluate(state: DecisionState, evidence: ExperimentEvidence, nowMs: number): Evaluation;
  /**
   * A human command (approve, hold, promote, rollback) as a pure transition. Throws an
   * `invalid_argument` UmbraError whose `rule` says why the command is not allowed now.
   */
  command(state: DecisionState, command: ManualCommand, nowMs: number): CommandResult;
  /** What the experiment flag must say for a state: live variant, rollout, mirrors, stage. */
  routing(state: DecisionState): Routing;
}

interface Verdict {
  readonly decision: Decision;
  readonly outcome: DecisionOutcome;
  readonly rule: string;
  readonly reason: string;
  readonly checks: readonly Check[];
  readonly target: Target | null;
}

function checkTime(nowMs: number, state: DecisionState | undefined): void {
  if (!Number.isInteger(nowMs) || nowMs < 0) {
    throw UmbraError.invalid("nowMs", "must be an integer number of ms since the epoch");
  }
  if (state !== undefined && nowMs < state.updatedMs) {
    throw UmbraError.invalid(
      "nowMs",
      `must not be earlier than the state's last update (${state.updatedMs})`,
    );
  }
}

/** Checks that a state belongs to this experiment version. */
export function checkStateVersion(ctx: EngineContext, state: DecisionState): void {
  if (state.experiment !== ctx.spec.experiment) {
    throw UmbraError.invalid(
      "/experiment",
      `state of ${state.experiment} given to the engine of ${ctx.spec.experiment}`,
    );
  }
  if (state.specHash !== ctx.specHash) {
    throw UmbraError.invalid(
      "/specHash",
      `state of spec version ${state.specHash.slice(0, 12)} given to the engine of version ${ctx.specHash.slice(0, 12)}: a changed spec is a new experiment`,
    );
  }
}

function summaries(checks: readonly Check[]): string {
  return checks.map((c) => c.summary).join("; ");
}

function ids(checks: readonly Check[]): string {
  return checks.map((c) => c.id).join(", ");
}

function verdictOf(
  checks: readonly Check[],
  decision: Decision,
  outcome: DecisionOutcome,
  rule: string,
  reason: string,
  target: Target | null,
): Verdict {
  return { decision, outcome, rule, reason, checks, target };
}

function judge(
  ctx: EngineContext,
  state: DecisionState,
  c: CandidateState,
  e: CandidateEvidence,
  experiment: ExperimentEvidence,
  nowMs: number,
): Verdict {
  const held = c.phase === "held";
  const phase: ActivePhase = held ? (c.heldFrom?.phase ?? "shadow") : (c.phase as ActivePhase);
  const stageIndex = held ? (c.heldFrom?.stageIndex ?? -1) : c.stageIndex;
  const stageName = held ? (c.heldFrom?.stage ?? "shadow") : c.stage;
  const stage = phase === "live" ? ctx.stages[stageIndex] : undefined;
  const v = c.variant;

  const scopes = judgedScopes(ctx, e);
  const health = healthChecks(ctx, experiment, e, phase, stage?.rolloutBasisPoints ?? null, nowMs);
  const criteria = criterionChecks(ctx, e, scopes, phase);
  const holdMs = phase === "live" ? (stage?.holdMs ?? 0) : ctx.watchMs;
  const requirements =
    phase === "shadow"
      ? shadowRequirements(ctx, e, scopes, c.stageStartedMs, nowMs)
      : [holdRequirement(stageName, holdMs, c.stageStartedMs, nowMs)];
  const checks = [...health, ...criteria, ...requirements];

  // Harm acts even when health fails or the candidate is held: going back to the last known
  // good is always the safe direction, and the confidence sequences stay valid whatever the
  // pipeline did to the timing of the looks. Health only ever blocks steps forward.
  const harms = criteria.filter((ch) => ch.outcome === "fail");
  const harm = harms[0];
  if (harm !== undefined) {
    const also = harms.length > 1 ? ` (also failing: ${ids(harms.slice(1))})` : "";
    if (phase === "shadow") {
      return verdictOf(
        checks,
        "reject",
        "fail",
        harm.id,
        `${v} rejected in shadow: ${harm.summary}${also}.`,
        {
          phase: "rejected",
        },
      );
    }
    const back = phase === "watch" ? (state.previousLive ?? ctx.spec.live) : state.live;
    return verdictOf(
      checks,
      "rollback",
      "fail",
      harm.id,
      `${v} rolled back from ${stageName} to ${back}, the last known good: ${harm.summary}${also}.`,
      { phase: "rolled_back" },
    );
  }
  if (held) {
    return verdictOf(
      checks,
      "hold",
      "inconclusive",
      "held",
      `${v} is held for a human (held in ${stageName}); approve, promote or roll back by hand.`,
      null,
    );
  }

  const deadlineMs =
    phase === "shadow"
      ? shadowAnchorMs(e, c.stageStartedMs) + ctx.maxDurationMs
      : c.stageStartedMs + holdMs + ctx.policy.maxStallMs;
  const overdue = nowMs >= deadlineMs;

  const unhealthy = health.filter((ch) => ch.outcome !== "pass");
  const mismatch = unhealthy.find((ch) => ch.metric === "sample_ratio" && ch.outcome === "fail");
  if (mismatch !== undefined) {
    return verdictOf(
      checks,
      "hold",
      "unhealthy",
      mismatch.id,
      `${v} held in ${stageName} for a human: ${mismatch.summary}; the flag is not routing traffic as declared, so the evidence of this stage cannot be trusted.`,
      { phase: "held" },
    );
  }
  const firstUnhealthy = unhealthy[0];
  if (firstUnhealthy !== undefined) {
    if (overdue) {
      return verdictOf(
        checks,
        "hold",
        "unhealthy",
        firstUnhealthy.id,
        `${v} held in ${stageName} for a human: still unhealthy at its deadline (${summaries(unhealthy)}).`,
        { phase: "held" },
      );
    }
    return verdictOf(
      checks,
      "wait",
      "unhealthy",
      firstUnhealthy.id,
      `${v} waits in ${stageName}: ${summaries(unhealthy)}.`,
      null,
    );
  }

  if (phase !== "shadow") {
    const hold = requirements[0];
    if (hold !== undefined && hold.outcome !== "pass") {
      return verdictOf(
        checks,
        "wait",
        "inconclusive",
        hold.id,
        `${v}: ${hold.summary}; healthy, no harm so far.`,
        null,
      );
    }
    const target = nextTarget(ctx, { phase, stageIndex });
    const next = stageOfTarget(ctx, target);
    const share =
      target.phase === "live"
        ? ` (${formatRate((ctx.stages[target.stageIndex]?.rolloutBasisPoints ?? 0) / 10_000)} of traffic)`
        : "";
    const reason =
      target.phase === "done"
        ? `${v} finished ${stageName} after ${formatDuration(nowMs - c.stageStartedMs)} with healthy traffic and no harm; done — ${v} is the live variant.`
        : `${v} held ${stageName} for ${formatDuration(nowMs - c.stageStartedMs)} with healthy traffic and no harm; advancing to ${next}${share}.`;
    return verdictOf(checks, "advance", "pass", "stage.complete", reason, target);
  }

  const unmet = requirements.filter((ch) => ch.outcome !== "pass");
  if (unmet.length > 0) {
    if (overdue) {
      return verdictOf(
        checks,
        "hold",
        "inconclusive",
        "max_duration",
        `${v} held for a human: the maximum ${formatDuration(ctx.maxDurationMs)} of shadow passed with requirements unmet (${summaries(unmet)}).`,
        { phase: "held" },
      );
    }
    return verdictOf(
      checks,
      "wait",
      "inconclusive",
      unmet[0]?.id ?? "requirements",
      `${v} waits: ${summaries(unmet)}.`,
      null,
    );
  }
  const open = criteria.filter((ch) => ch.outcome !== "pass");
  if (open.length === 0) {
    if (state.rollout !== null && state.rollout !== v) {
      return verdictOf(
        checks,
        "wait",
        "pass",
        "rollout_busy",
        `${v} passed every criterion, but ${state.rollout} holds the rollout; ${v} waits its turn.`,
        null,
      );
    }
    const first = ctx.stages[0];
    const share =
      first === undefined ? "" : ` (${formatRate(first.rolloutBasisPoints / 10_000)} of traffic)`;
    return verdictOf(
      checks,
      "promote",
      "pass",
      "criteria.all_pass",
      `${v} passed every criterion after ${formatCount(e.overall.compared)} compared pairs: ${summaries(criteria)}; promoting to ${first?.name ?? "live"}${share}.`,
      { phase: "live", stageIndex: 0 },
    );
  }
  if (overdue) {
    return verdictOf(
      checks,
      "hold",
      "inconclusive",
      "max_duration",
      `${v} held for a human: still inconclusive after the maximum ${formatDuration(ctx.maxDurationMs)} of shadow (${summaries(open)}). Inconclusive never promotes.`,
      { phase: "held" },
    );
  }
  return verdictOf(
    checks,
    "extend",
    "inconclusive",
    open[0]?.id ?? "criteria",
    `${v} inconclusive on ${ids(open)}; extending the shadow (${formatDuration(deadlineMs - nowMs)} left before a human is asked).`,
    null,
  );
}

function routingKey(r: Routing): string {
  return JSON.stringify(r);
}

/**
 * Creates the decision engine of one experiment version: the spec is frozen in it, its hash
 * is checked against every state and every piece of evidence, and the alpha split is fixed
 * once (see `docs/statistics.md`).
 *
 * @example
 * ```ts
 * const engine = createDecisionEngine({ spec });
 * let state = engine.start(clock.now());
 * // every tick:
 * const { nextState, records, routingChanged } = engine.evaluate(state, evidence, clock.now());
 * if (routingChanged) writeFlag(engine.routing(nextState));
 * publish(records);
 * state = nextState;
 * ```
 */
export function createDecisionEngine(options: DecisionEngineOptions): DecisionEngine {
  const spec = options.spec;
  const policy = resolveDecisionPolicy(options.policy);
  const hash = options.specHash ?? hashSpec(spec);
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw UmbraError.invalid("specHash", "must be 64 lowercase hex characters");
  }
  const stages = stagesOf(spec);
  const watchMs = spec.watchMs ?? policy.defaultWatchMs;
  const ctx: EngineContext = {
    spec,
    specHash: hash,
    policy,
    alpha: planAlpha(spec, policy, stages.length + (watchMs > 0 ? 1 : 0)),
    stages,
    watchMs,
    maxDurationMs:
      spec.criteria.maxDurationMs ??
      Math.max(policy.defaultMaxDurationMs, spec.criteria.minDurationMs),
    candidates: candidatesOf(spec),
  };

  const evaluate = (
    state: DecisionState,
    evidence: ExperimentEvidence,
    nowMs: number,
  ): Evaluation => {
    checkTime(nowMs, state);
    checkStateVersion(ctx, state);
    checkExperimentEvidence(evidence);
    if (evidence.experiment !== spec.experiment) {
      throw UmbraError.invalid(
        "/experiment",
        `must be ${spec.experiment} (got ${evidence.experiment})`,
      );
    }
    if (evidence.specHash !== hash) {
      throw UmbraError.invalid(
        "/specHash",
        `evidence gathered under spec version ${evidence.specHash.slice(0, 12)} cannot be used for version ${hash.slice(0, 12)}: criteria are frozen and evidence is not reused across versions`,
      );
    }
    let next: DecisionState = { ...state, updatedMs: nowMs };
    const records: DecisionRecord[] = [];
    const results: CandidateEvaluation[] = [];
    // The rollout holder first: if it finishes or rolls back, the slot and the live variant
    // the others are judged against change on this same tick.
    const order = [
      ...(state.rollout === null ? [] : [state.rollout]),
      ...ctx.candidates.filter((v) => v !== state.rollout),
    ];
    for (const variant of order) {
      const c = next.candidates[variant];
      if (c === undefined || FINISHED_PHASES.has(c.phase)) continue;
      const e = evidence.candidates[variant] ?? emptyCandidateEvidence(c.stageStartedMs);
      if (e.windowStartMs < c.stageStartedMs) {
        throw UmbraError.invalid(
          `/candidates/${variant}/windowStartMs`,
          `must be >= ${c.stageStartedMs}, the start of ${variant}'s ${c.stage} window: evidence of an earlier stage is not reused`,
        );
      }
      const v = judge(ctx, next, c, e, evidence, nowMs);
      const to = v.target === null ? c.stage : stageOfTarget(ctx, v.target);
      results.push({
        variant,
        decision: v.decision,
        from: c.stage,
        to,
        outcome: v.outcome,
        rule: v.rule,
        reason: v.reason,
        checks: v.checks,
      });
      let knockOn: KnockOn[] = [];
      if (v.target !== null) {
        const moved = move(ctx, next, variant, v.target, nowMs);
        next = moved.state;
        knockOn = moved.knockOn;
      }
      // A held candidate with nothing new is not logged again every tick.
      if (c.phase !== "held" || v.target !== null) {
        const phase =
          c.phase === "held" ? (c.heldFrom?.phase ?? "shadow") : (c.phase as ActivePhase);
        records.push(
          decisionRecord(ctx, {
            seq: next.seq + 1,
            atMs: nowMs,
            from: c.stage,
            to,
            outcome: v.outcome,
            rule: v.rule,
            reason: v.reason,
            actor: "collector",
            evidence: {
              variant,
              decision: v.decision,
              window: { phase, stage: c.heldFrom?.stage ?? c.stage, startedMs: c.stageStartedMs },
              alpha: { total: ctx.alpha.total, window: windowAlpha(ctx, phase) },
              policy: ctx.policy,
              checks: v.checks,
            },
          }),
        );
        next = { ...next, seq: next.seq + 1 };
      }
      const extra = knockOnRecords(ctx, knockOn, next.seq, nowMs, "collector");
      records.push(...extra);
      next = { ...next, seq: next.seq + extra.length };
    }
    return {
      nextState: next,
      candidates: results,
      records,
      routingChanged: routingKey(routingOf(ctx, state)) !== routingKey(routingOf(ctx, next)),
    };
  };

  return {
    spec,
    specHash: hash,
    policy,
    candidates: ctx.candidates,
    start(nowMs) {
      checkTime(nowMs, undefined);
      const candidates: Record<string, CandidateState> = {};
      for (const variant of ctx.candidates) {
        candidates[variant] = {
          variant,
          phase: "shadow",
          stage: "shadow",
          stageIndex: -1,
          stageStartedMs: nowMs,
          heldFrom: null,
        };
      }
      return {
        experiment: spec.experiment,
        specHash: hash,
        seq: 0,
        startedMs: nowMs,
        updatedMs: nowMs,
        live: spec.live,
        previousLive: null,
        rollout: null,
        candidates,
      };
    },
    evaluate,
    command(state, command, nowMs) {
      checkTime(nowMs, state);
      checkStateVersion(ctx, state);
      return applyCommand(ctx, state, command, nowMs);
    },
    routing(state) {
      checkStateVersion(ctx, state);
      return routingOf(ctx, state);
    },
  };
}
