import { BASIS_POINTS, type CandidateSample } from "@umbra/protocol";
import type { DecisionState } from "./decision-state.ts";
import type { EngineContext } from "./engine-context.ts";

/**
 * What the experiment flag must say for a decision state — the fields of protocol's
 * `ExperimentFlagOptions` the engine owns, so a writer can spread it:
 * `buildExperimentFlag({ experiment, revision, specHash, ...engine.routing(state) })`.
 */
export interface Routing {
  /** The variant answering every request outside the rollout: the last known good. */
  readonly live: string;
  /** During a live stage: the candidate and its share of requests. */
  readonly rollout: { readonly variant: string; readonly basisPoints: number } | undefined;
  /** Variants mirrored as shadows, with their sample. */
  readonly candidates: readonly CandidateSample[];
  /** The stage for flag metadata: the rollout's stage, `watch`, `shadow`, or `done`. */
  readonly stage: string;
}

function sampleOf(spec: EngineContext["spec"], variant: string): number {
  return spec.variants[variant]?.sampleBasisPoints ?? BASIS_POINTS;
}

/**
 * The routing of a state. In shadow and live stages, candidates still in shadow (or held from
 * it) are mirrored at their declared sample while the spec's live variant is still live, the
 * rollout candidate stays mirrored on the requests the live variant answers, and the control
 * is mirrored alongside. In the watch the previous live variant is mirrored at 100% beside the
 * new one. Finished candidates are never mirrored.
 */
export function routingOf(ctx: EngineContext, state: DecisionState): Routing {
  const spec = ctx.spec;
  const holder = state.rollout === null ? undefined : state.candidates[state.rollout];
  const holderPhase = holder?.phase === "held" ? holder.heldFrom?.phase : holder?.phase;
  if (holder !== undefined && holderPhase === "watch") {
    return {
      live: state.live,
      rollout: undefined,
      candidates:
        state.previousLive === null || state.previousLive === state.live
          ? []
          : [{ variant: state.previousLive, sampleBasisPoints: BASIS_POINTS }],
      stage: "watch",
    };
  }
  const baselineLive = state.live === spec.live;
  const mirrored: CandidateSample[] = [];
  let anyActive = false;
  for (const variant of Object.keys(spec.variants)) {
    if (variant === state.live) continue;
    const c = state.candidates[variant];
    if (c === undefined) {
      // The control: production mirrored to itself, while the spec's baseline is live.
      if (spec.variants[variant]?.control === true && baselineLive) {
        mirrored.push({ variant, sampleBasisPoints: sampleOf(spec, variant) });
      }
      continue;
    }
    const phase = c.phase === "held" ? c.heldFrom?.phase : c.phase;
    const mirror =
      (phase === "shadow" && baselineLive) || (phase === "live" && variant === state.rollout);
    if (mirror) {
      anyActive = true;
      mirrored.push({ variant, sampleBasisPoints: sampleOf(spec, variant) });
    }
  }
  if (holder !== undefined && holderPhase === "live") {
    const stage = ctx.stages[holder.heldFrom?.stageIndex ?? holder.stageIndex];
    return {
      live: state.live,
      rollout: { variant: holder.variant, basisPoints: stage?.rolloutBasisPoints ?? 0 },
      candidates: mirrored,
      stage: holder.heldFrom?.stage ?? holder.stage,
    };
  }
  return {
    live: state.live,
    rollout: undefined,
    candidates: anyActive ? mirrored : [],
    stage: anyActive ? "shadow" : "done",
  };
}
