import {
  DEFAULT_STAGES,
  type DecisionRecord,
  type ExperimentSpec,
  SCHEMA_VERSION,
} from "@umbra/protocol";
import type { AlphaPlan } from "./alpha-plan.ts";
import type { DecisionPolicy } from "./decision-policy.ts";
import type { DecisionOutcome } from "./decision-state.ts";

/** A live stage of the rollout. */
export type RolloutStage = NonNullable<ExperimentSpec["stages"]>[number];

/** Everything fixed for one experiment version, worked out once when the engine is created. */
export interface EngineContext {
  readonly spec: ExperimentSpec;
  readonly specHash: string;
  readonly policy: DecisionPolicy;
  readonly alpha: AlphaPlan;
  readonly stages: readonly RolloutStage[];
  readonly watchMs: number;
  readonly maxDurationMs: number;
  /** Candidate variants in spec order (live and control excluded). */
  readonly candidates: readonly string[];
}

/** The stages of a spec: its own, or the defaults (1% → 5% → 25% → 50% → 100%). */
export function stagesOf(spec: ExperimentSpec): readonly RolloutStage[] {
  return spec.stages ?? DEFAULT_STAGES ?? [];
}

/** The candidate variants of a spec, in declared order: every variant but the live one and the control. */
export function candidatesOf(spec: ExperimentSpec): string[] {
  return Object.entries(spec.variants)
    .filter(([name, v]) => name !== spec.live && v.control !== true)
    .map(([name]) => name);
}

/** The limit of the `reason` field of a decision record. */
const MAX_REASON = 4096;

/** Builds a decision record (without `flagRevision`, which the writer of the flag adds). */
export function decisionRecord(
  ctx: EngineContext,
  fields: {
    readonly seq: number;
    readonly atMs: number;
    readonly from: string;
    readonly to: string;
    readonly outcome: DecisionOutcome;
    readonly rule: string;
    readonly reason: string;
    readonly actor: string;
    readonly evidence: Record<string, unknown>;
  },
): DecisionRecord {
  return {
    schema: SCHEMA_VERSION,
    kind: "decision",
    experiment: ctx.spec.experiment,
    specHash: ctx.specHash,
    atMs: fields.atMs,
    seq: fields.seq,
    from: fields.from,
    to: fields.to,
    outcome: fields.outcome,
    rule: fields.rule.slice(0, 128),
    reason:
      fields.reason.length > MAX_REASON
        ? `${fields.reason.slice(0, MAX_REASON - 1)}…`
        : fields.reason,
    actor: fields.actor,
    evidence: fields.evidence,
  };
}
