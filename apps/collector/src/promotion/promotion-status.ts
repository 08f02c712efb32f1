import type { DecisionEngine } from "@umbra/compare";
import type { CandidateSample } from "@umbra/protocol";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import type { ControlMode, PreviousRun, PromotionSlot } from "./promotion-control.ts";

/** One candidate in the status: where it is and why, in words. */
export interface CandidateStatus {
  readonly variant: string;
  /** `shadow`, `live`, `watch`, `held`, `done`, `rejected` or `rolled_back`. */
  readonly phase: string;
  /** The stage name (`shadow`, `live-5`, `watch`, `held`…). */
  readonly stage: string;
  /** When its current stage (evidence window) began. */
  readonly sinceMs: number;
  /** Where a held candidate was held. */
  readonly heldFrom: string | null;
  /** The latest decision about it (`wait`, `extend`, `promote`, `advance`, `reject`, …). */
  readonly decision: string | null;
  /** The rule or check that decided it. */
  readonly rule: string | null;
  /** The latest decision in words. */
  readonly reason: string;
  /** When that decision was made. */
  readonly atMs: number | null;
}

/** What `GET /experiments/:name/status` answers. */
export interface PromotionStatus {
  readonly experiment: string;
  /** `off`: the collector does not promote this experiment (`summary` says why). */
  readonly promotion: "on" | "off";
  /** Where the experiment stands, in words. */
  readonly summary: string;
  /** The version being promoted. */
  readonly specHash: string | null;
  /** The spec registered now (differs from `specHash` until the holder starts the new version). */
  readonly registeredSpecHash: string | null;
  /** `memory`: the holder answered; `checkpoint`: read from the last checkpoint. */
  readonly source: "memory" | "checkpoint";
  /** The replica holding the experiment's lease. */
  readonly owner: string | null;
  /** Who writes the flag now, and why. */
  readonly control: {
    readonly mode: ControlMode;
    readonly reason: string;
    readonly sinceMs: number;
  } | null;
  /** The flag's stage (`shadow`, a live stage, `watch`, `done`). */
  readonly stage: string | null;
  /** The variant answering users outside a rollout: the last known good. */
  readonly live: string | null;
  readonly previousLive: string | null;
  /** The candidate answering a share of requests in a live stage. */
  readonly rollout: { readonly variant: string; readonly basisPoints: number } | null;
  /** Variants mirrored as shadows, with their sample. */
  readonly mirrored: readonly CandidateSample[];
  /** The flag as last written or accepted by the collector. */
  readonly flag: {
    readonly key: string;
    readonly revision: number | null;
    /** Why the flag could not be read or written at the last attempt. */
    readonly problem: string | null;
  };
  readonly candidates: readonly CandidateStatus[];
  /** The decision log: the last record's `seq`, and records committed but not yet published. */
  readonly decisions: { readonly lastSeq: number; readonly unpublished: number };
  /** The version this one replaced. */
  readonly previous: PreviousRun | null;
  /** The last evaluation. */
  readonly updatedMs: number | null;
  /** The last tick's error on the holder, if it failed. */
  readonly lastError: string | null;
}

/** What {@link buildPromotionStatus} reads. */
export interface PromotionStatusInput {
  readonly experiment: string;
  readonly slot: PromotionSlot | undefined;
  readonly registered: RegisteredSpec | undefined;
  /** The engine of the slot's version, when the registered spec is that version. */
  readonly engine: DecisionEngine | undefined;
  readonly source: "memory" | "checkpoint";
  readonly owner: string | null;
  /** Whether this collector has a flag file (promotion needs one). */
  readonly flagFileConfigured: boolean;
  readonly flagProblem: string | null;
  readonly lastError: string | null;
}

function percent(basisPoints: number): string {
  const p = basisPoints / 100;
  return `${Number.isInteger(p) ? p : p.toFixed(2)}%`;
}

/** The status of an experiment's promotion, with a summary in words. */
export function buildPromotionStatus(input: PromotionStatusInput): PromotionStatus {
  const { experiment, slot, registered, engine } = input;
  const key = `umbra.${experiment}`;
  const off = (summary: string): PromotionStatus => ({
    experiment,
    promotion: "off",
    summary,
    specHash: slot?.control.specHash ?? null,
    registeredSpecHash: registered?.hash ?? null,
    source: input.source,
    owner: input.owner,
    control: null,
    stage: null,
    live: null,
    previousLive: null,
    rollout: null,
    mirrored: [],
    flag: { key, revision: slot?.control.flag?.revision ?? null, problem: input.flagProblem },
    candidates: [],
    decisions: { lastSeq: slot?.control.decision.seq ?? 0, unpublished: 0 },
    previous: slot?.control.previous ?? null,
    updatedMs: slot?.control.decision.updatedMs ?? null,
    lastError: input.lastError,
  });
  if (!input.flagFileConfigured) {
    return off(
      "Promotion is off: this collector has no UMBRA_FLAG_FILE, so it reports but never writes a flag.",
    );
  }
  if (registered === undefined) {
    return off(
      `Promotion is off: ${experiment} has no registered spec (criteria are declared in the spec before shadowing starts).`,
    );
  }
  if (slot === undefined) {
    return off(
      `Not evaluated yet: the replica holding ${experiment} starts its promotion on its next tick.`,
    );
  }
  const c = slot.control;
  const d = c.decision;
  const routing = engine?.routing(d);
  const candidates: CandidateStatus[] = Object.values(d.candidates).map((s) => {
    const note = c.notes[s.variant];
    return {
      variant: s.variant,
      phase: s.phase,
      stage: s.stage,
      sinceMs: s.stageStartedMs,
      heldFrom: s.heldFrom === null ? null : s.heldFrom.stage,
      decision: note?.decision ?? null,
      rule: note?.rule ?? null,
      reason: note?.reason ?? `${s.variant} has not been evaluated in ${s.stage} yet.`,
      atMs: note?.atMs ?? null,
    };
  });
  let summary: string;
  if (c.mode !== "collector") {
    summary = c.modeReason;
  } else {
    const parts = [`${d.live} is live`];
    if (routing?.rollout !== undefined) {
      parts.push(
        `${routing.rollout.variant} answers ${percent(routing.rollout.basisPoints)} of requests (${routing.stage})`,
      );
    } else if (routing?.stage === "watch") {
      parts.push(`watching it with ${d.previousLive ?? "the previous live variant"} mirrored`);
    }
    const mirrored = routing?.candidates ?? [];
    parts.push(
      mirrored.length === 0
        ? "nothing is mirrored"
        : `mirrored: ${mirrored.map((m) => `${m.variant} ${percent(m.sampleBasisPoints)}`).join(", ")}`,
    );
    summary = `${parts.join("; ")}.`;
  }
  if (registered.hash !== c.specHash) {
    summary += ` A new spec version ${registered.hash.slice(0, 12)} is registered; the holder starts it on its next tick.`;
  }
  return {
    experiment,
    promotion: "on",
    summary,
    specHash: c.specHash,
    registeredSpecHash: registered.hash,
    source: input.source,
    owner: input.owner,
    control: { mode: c.mode, reason: c.modeReason, sinceMs: c.modeSinceMs },
    stage: routing?.stage ?? null,
    live: d.live,
    previousLive: d.previousLive,
    rollout: routing?.rollout ?? null,
    mirrored: routing?.candidates ?? [],
    flag: { key, revision: c.flag?.revision ?? null, problem: input.flagProblem },
    candidates,
    decisions: { lastSeq: d.seq, unpublished: c.outbox.length },
    previous: c.previous,
    updatedMs: d.updatedMs,
    lastError: input.lastError,
  };
}
