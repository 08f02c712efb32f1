import {
  type CandidateEvidence,
  createDecisionEngine,
  type DecisionEngine,
  type DecisionPolicy,
  type DecisionState,
  type Evaluation,
  type ExperimentEvidence,
  FINISHED_PHASES,
  ManualCommandKind,
} from "@umbra/compare";
import { type DecisionRecord, SCHEMA_VERSION, UmbraError } from "@umbra/protocol";
import type { Logger } from "pino";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";
import type { CollectorMetrics } from "../metrics/collector-metrics.ts";
import type { RegisteredSpec } from "../specs/spec-registry.ts";
import type { ExperimentState } from "../state/experiment-state.ts";
import {
  buildManagedFlag,
  type ExperimentFlagView,
  type FlagFileStore,
  type FlagRouting,
  flagSha256,
  markOf,
  matchesMark,
  routingKey,
} from "./flag-file-store.ts";
import { ControlMode, type PromotionControl, type PromotionSlot } from "./promotion-control.ts";
import { StageEvidence } from "./stage-evidence.ts";

/** What an {@link Advancer} needs of the experiment's partition. */
export interface AdvancedPartition {
  /** The live state, `undefined` before the partition started. */
  readonly state: ExperimentState | undefined;
  readonly stopped: boolean;
  /** Makes the state durable now (compare-and-swap: rejects with `conflict` for a stale holder). */
  commit(): Promise<void>;
  /** How far the applied state trails the pair stream, ms. */
  collectorLagMs(nowMs: number): Promise<number>;
}

/** What an {@link Advancer} needs. */
export interface AdvancerDeps {
  readonly experiment: string;
  readonly partition: AdvancedPartition;
  readonly specs: { get(experiment: string): RegisteredSpec | undefined };
  readonly flags: FlagFileStore;
  readonly log: {
    open(): Promise<DecisionRecord | undefined>;
    publish(record: DecisionRecord): Promise<void>;
  };
  /** Whether this replica still holds the experiment's lease (checked before every flag write). */
  readonly fence: () => Promise<boolean>;
  readonly metrics: CollectorMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly tickMs: number;
  readonly sampleMs: number;
  /**
   * How long after a flag write the new stage's evidence begins: the time SDKs (through flagd or
   * the sync endpoint) take to apply it, so requests planned under the old routing do not count.
   */
  readonly settleMs: number;
  readonly policy: DecisionPolicy;
  /** Called when the advancer finds it is no longer the experiment's only writer. */
  readonly onFailed: (experiment: string, error: CollectorError) => void;
}

/** The commands a human can give through the HTTP API and `umbra`. */
export const PromotionCommandKind = { ...ManualCommandKind, resume: "resume" } as const;
/** One of the {@link PromotionCommandKind} values. */
export type PromotionCommandKind = (typeof PromotionCommandKind)[keyof typeof PromotionCommandKind];

/** A human command, validated by the HTTP layer. */
export interface PromotionCommand {
  readonly kind: PromotionCommandKind;
  /** The candidate; may be left out when only one candidate can take the command. */
  readonly variant?: string;
  /** `human:<name>`. */
  readonly actor: string;
  readonly note?: string;
}

/** The most committed records kept waiting for the decision stream; older ones are dropped, counted. */
const MAX_OUTBOX = 1_000;
/** The longest `reason` a decision record carries. */
const MAX_REASON = 4_096;

function short(hash: string): string {
  return hash.slice(0, 12);
}

function percent(basisPoints: number): string {
  const p = basisPoints / 100;
  return `${Number.isInteger(p) ? p : p.toFixed(2)}%`;
}

/** The stage a decision state's routing is in, without an engine (for a replaced version). */
function stageOfState(d: DecisionState): string {
  if (d.rollout !== null) {
    const c = d.candidates[d.rollout];
    return c?.phase === "held" ? (c.heldFrom?.stage ?? "held") : (c?.stage ?? "live");
  }
  const active = Object.values(d.candidates).some(
    (c) => c.phase === "shadow" || (c.phase === "held" && c.heldFrom?.phase === "shadow"),
  );
  return active ? "shadow" : "done";
}

/** The identity of a candidate's evidence window: its (held-from) phase, stage and stage start. */
function windowKey(c: DecisionState["candidates"][string]): string {
  const held = c.phase === "held";
  const phase = held ? (c.heldFrom?.phase ?? "shadow") : c.phase;
  const stage = held ? (c.heldFrom?.stage ?? c.stage) : c.stage;
  return `${phase}|${stage}|${c.stageStartedMs}`;
}

/** Whether the flag in the file already says what `routing` says (for this spec version). */
function flagMatches(view: ExperimentFlagView, routing: FlagRouting, specHash: string): boolean {
  return (
    view.options !== null &&
    routingKey(view.options) === routingKey(routing) &&
    view.options.stage === routing.stage &&
    view.options.specHash === specHash
  );
}

/** How the flag in the file differs from the routing the collector keeps, in words. */
function describeChange(before: FlagRouting, after: ExperimentFlagView): string {
  if (!after.exists) return "the flag was removed from the file";
  const parts: string[] = [];
  if (after.disabled) parts.push("state set to DISABLED");
  const a: FlagRouting | null = before;
  const b = after.options;
  if (b === null) {
    parts.push(`its targeting no longer matches its metadata (${after.problem ?? "unreadable"})`);
    return parts.join("; ");
  }
  if (a !== null) {
    if (a.live !== b.live) parts.push(`live ${a.live} → ${b.live}`);
    const ra =
      a.rollout === undefined ? "none" : `${a.rollout.variant} ${percent(a.rollout.basisPoints)}`;
    const rb =
      b.rollout === undefined ? "none" : `${b.rollout.variant} ${percent(b.rollout.basisPoints)}`;
    if (ra !== rb) parts.push(`rollout ${ra} → ${rb}`);
    const sa = new Map(a.candidates.map((c) => [c.variant, c.sampleBasisPoints]));
    const sb = new Map(b.candidates.map((c) => [c.variant, c.sampleBasisPoints]));
    for (const v of new Set([...sa.keys(), ...sb.keys()])) {
      const x = sa.get(v);
      const y = sb.get(v);
      if (x !== y) {
        parts.push(
          `mirror ${v} ${x === undefined ? "off" : percent(x)} → ${y === undefined ? "off" : percent(y)}`,
        );
      }
    }
  } else {
    parts.push(
      `live ${b.live}, rollout ${b.rollout === undefined ? "none" : `${b.rollout.variant} ${percent(b.rollout.basisPoints)}`}, mirrors ${b.candidates.map((c) => `${c.variant} ${percent(c.sampleBasisPoints)}`).join(", ") || "none"}`,
    );
  }
  if (parts.length === 0) parts.push("routing unchanged (metadata or revision only)");
  return parts.join("; ");
}

/**
 * The promotion of one experiment on the replica holding its lease: every tick it reads the
 * flag (a change it did not make is a human edit, recorded and never overwritten), builds the
 * evidence of each candidate's current stage, runs the decision engine, and when something
 * changed it commits the new state with the experiment's checkpoint (compare-and-swap: a stale
 * holder fails here), rewrites the flag (compare-and-swap on the flag's revision, a lease check
 * right before the rename) and appends the decision records to `umbra.decisions.<experiment>`
 * (the log's own sequence check is the last fence). Ticks and human commands run one at a time.
 */
export class Advancer {
  readonly #deps: AdvancerDeps;
  readonly #engines = new Map<string, DecisionEngine>();
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #flagProblem: string | null = null;
  #lastError: string | null = null;

  constructor(deps: AdvancerDeps) {
    this.#deps = deps;
  }

  /** The experiment this advancer drives. */
  get experiment(): string {
    return this.#deps.experiment;
  }

  /** Why the flag could not be read or written at the last attempt; `null` when fine. */
  get flagProblem(): string | null {
    return this.#flagProblem;
  }

  /** The last error a tick ended with; `null` after a clean tick. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /**
   * Reads where the decision log ends (records a previous holder committed and published are
   * not published again), publishes what is left of the outbox, and starts ticking.
   */
  async start(): Promise<void> {
    const last = await this.#deps.log.open();
    const c = this.#deps.partition.state?.promotion?.control;
    if (c !== undefined && last !== undefined) {
      c.outbox = c.outbox.filter((r) => !(r.specHash === last.specHash && r.seq <= last.seq));
    }
    this.#schedule(0);
  }

  /** Stops ticking and waits for the tick or command in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#queue.catch(() => undefined);
  }

  /** Runs one tick now (after whatever is in progress); tests use it to avoid waiting. */
  tick(): Promise<void> {
    return this.#serial(() => this.#tick());
  }

  /** Applies a human command; resolves when it is committed, written to the flag and logged. */
  command(command: PromotionCommand): Promise<void> {
    return this.#serial(() => this.#command(command));
  }

  /** The engine of a spec version (one per hash, kept while this advancer lives). */
  engineFor(spec: RegisteredSpec): DecisionEngine {
    let engine = this.#engines.get(spec.hash);
    if (engine === undefined) {
      engine = createDecisionEngine({
        spec: spec.spec,
        specHash: spec.hash,
        policy: this.#deps.policy,
      });
      this.#engines.set(spec.hash, engine);
    }
    return engine;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.tick()
        .catch(() => undefined)
        .finally(() => this.#schedule(this.#deps.tickMs));
    }, delayMs);
  }

  #nowFor(d: DecisionState | undefined): number {
    // The engine refuses time running backwards; a clock step (or a new holder's clock) must not
    // wedge the experiment.
    return Math.max(Math.floor(this.#deps.now()), d?.updatedMs ?? 0);
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#deps.partition.stopped) return;
    const { metrics, logger, experiment } = this.#deps;
    try {
      const ran = await this.#advance();
      metrics.advancerTicks.inc({ result: ran ? "evaluated" : "paused" });
      this.#lastError = null;
    } catch (error) {
      metrics.advancerTicks.inc({ result: "error" });
      const e = CollectorError.from(error);
      this.#lastError = e.message;
      if (e.code === CollectorErrorCode.Conflict) {
        logger.warn({ experiment, err: e }, "no longer the advancer of this experiment");
        this.#stopped = true;
        this.#deps.onFailed(experiment, e);
        return;
      }
      logger.warn({ experiment, err: e }, "promotion tick failed; retrying next tick");
    }
  }

  /** One tick; resolves whether the engine ran (false: paused, nothing to evaluate). */
  async #advance(): Promise<boolean> {
    const state = this.#deps.partition.state;
    const registered = this.#deps.specs.get(this.#deps.experiment);
    if (state === undefined || registered === undefined) return false;
    const records: DecisionRecord[] = [];
    const slot = this.#slotFor(state, registered, records);
    const c = slot.control;
    const engine = this.engineFor(registered);
    const now = this.#nowFor(c.decision);
    const view = await this.#observeFlag(slot, engine, now, records);
    if (view === undefined || c.mode !== ControlMode.collector) {
      await this.#apply(state, slot, engine, view, records);
      return false;
    }
    // A stage whose flag is not written yet gets its window when the write is done (plus the
    // settle time): evidence from before would mix two routings.
    if (flagMatches(view, engine.routing(c.decision), c.specHash)) {
      this.#syncWindows(slot, registered, now);
    }
    const lagMs = await this.#deps.partition.collectorLagMs(now);
    let evaluation: Evaluation;
    try {
      evaluation = engine.evaluate(c.decision, this.#evidence(slot, engine, lagMs), now);
    } catch (error) {
      // Malformed evidence is a bug here, not a reason to stop logging what already happened.
      await this.#apply(state, slot, engine, view, records);
      throw error;
    }
    records.push(...this.#keep(c, evaluation));
    await this.#apply(state, slot, engine, view, records);
    return true;
  }

  /** The promotion slot of the registered spec version, starting a new version when the spec changed. */
  #slotFor(
    state: ExperimentState,
    registered: RegisteredSpec,
    records: DecisionRecord[],
  ): PromotionSlot {
    const current = state.promotion;
    if (current !== undefined && current.control.specHash === registered.hash) return current;
    const engine = this.engineFor(registered);
    const previous = current?.control;
    const now = this.#nowFor(previous?.decision);
    const started = engine.start(now);
    const firstStage = engine.routing(started).stage;
    state.followSpec();
    // The aggregate may have followed the new spec already (a record arrived first): the pairs
    // set aside are the last previous version's, either way.
    const pairsBefore =
      previous === undefined
        ? 0
        : (state.previousVersions.findLast((v) => v.specHash === previous.specHash)?.pairs ?? 0);
    const candidates = engine.candidates.join(", ") || "none";
    const reason =
      previous === undefined
        ? `Experiment version ${short(registered.hash)} started with frozen criteria: candidates ${candidates} in shadow against ${registered.spec.live}.`
        : `Spec changed from ${short(previous.specHash)} to ${short(registered.hash)}: a new experiment version with frozen criteria. Evidence gathered under ${short(previous.specHash)} (${pairsBefore} pairs, stage ${stageOfState(previous.decision)}) is not reused; candidates ${candidates} start again in shadow against ${registered.spec.live}.`;
    const control: PromotionControl = {
      format: 1,
      specHash: registered.hash,
      startedMs: now,
      decision: { ...started, seq: 0 },
      mode: ControlMode.collector,
      modeReason: "the collector writes the flag",
      modeSinceMs: now,
      flag: null,
      outbox: previous?.outbox ?? [],
      notes: {},
      logged: {},
      previous:
        previous === undefined
          ? null
          : { specHash: previous.specHash, stage: stageOfState(previous.decision), endedMs: now },
    };
    records.push(
      this.#controlRecord(control, now, {
        rule: previous === undefined ? "spec.start" : "spec.new_version",
        from: previous === undefined ? "none" : stageOfState(previous.decision),
        to: firstStage,
        reason,
        evidence: {
          variant: "experiment",
          decision: previous === undefined ? "start" : "new_version",
          previousSpecHash: previous?.specHash ?? null,
          pairsNotReused: previous === undefined ? 0 : pairsBefore,
          candidates: engine.candidates,
          criteria: registered.spec.criteria,
        },
      }),
    );
    const slot: PromotionSlot = {
      control,
      evidence: new StageEvidence(
        registered.spec,
        registered.hash,
        undefined,
        this.#deps.policy.maxSegmentValues,
      ),
    };
    state.promotion = slot;
    state.dirty = true;
    this.#deps.logger.info(
      { experiment: this.#deps.experiment, specHash: registered.hash },
      previous === undefined ? "promotion started" : "spec changed: new experiment version",
    );
    return slot;
  }

  /**
   * Reads the flag and compares it with what the collector last wrote: a difference it did not
   * make is a human edit — recorded, adopted as the new compare-and-swap token, and obeyed.
   * Resolves `undefined` when the file cannot be read.
   */
  async #observeFlag(
    slot: PromotionSlot,
    engine: DecisionEngine,
    now: number,
    records: DecisionRecord[],
  ): Promise<ExperimentFlagView | undefined> {
    const snapshot = await this.#deps.flags.read();
    if (!snapshot.ok) {
      if (this.#flagProblem === null) {
        this.#deps.logger.error(
          { experiment: this.#deps.experiment, problem: snapshot.problem },
          "flag file unreadable; the collector neither evaluates nor writes until it is fixed",
        );
      }
      this.#flagProblem = `${this.#deps.flags.path} ${snapshot.problem}`;
      return undefined;
    }
    this.#flagProblem = null;
    const view = snapshot.view(this.#deps.experiment);
    const c = slot.control;
    if (c.flag === null) {
      if (view.disabled) {
        c.flag = markOf(view);
        records.push(
          this.#modeChange(
            c,
            now,
            ControlMode.disabled,
            `${view.key} is DISABLED by hand (revision ${view.revision}): the SDKs answer from their default variant and mirror nothing; the collector will not write the flag until a human enables it.`,
            view,
            undefined,
          ),
        );
      }
      return view;
    }
    if (matchesMark(view, c.flag)) return view;
    if (this.#isOwnWrite(view, c, engine)) {
      // Written by this experiment's advancer just before a crash or a lost lease, not yet noted.
      c.flag = markOf(view);
      for (const r of c.outbox) if (r.flagRevision === undefined) r.flagRevision = view.revision;
      return view;
    }
    this.#deps.metrics.flagHumanEdits.inc();
    const routing = engine.routing(c.decision);
    const change = describeChange(routing, view);
    let mode: ControlMode;
    let why: string;
    if (!view.exists) {
      mode = ControlMode.manual;
      why = `${view.key} was removed from the flag file by hand; the collector will not recreate it. Run umbra resume (or approve, promote, rollback) to hand control back.`;
    } else if (view.disabled) {
      mode = ControlMode.disabled;
      why = `${view.key} was set to DISABLED by hand at revision ${view.revision}: the SDKs answer from their default variant and mirror nothing; the collector will not write the flag until a human enables it.`;
    } else if (view.options !== null && routingKey(view.options) === routingKey(routing)) {
      mode = ControlMode.collector;
      why = `${view.key} was edited by hand at revision ${view.revision}, but its routing is the one the collector keeps, so the collector goes on from the new revision.`;
    } else {
      mode = ControlMode.manual;
      why = `${view.key} was edited by hand at revision ${view.revision} (${change}); the collector will not overwrite it and stops advancing. Run umbra resume (or approve, promote, rollback) to hand control back.`;
    }
    const before = c.flag;
    c.flag = markOf(view);
    records.push(this.#modeChange(c, now, mode, `Human edit detected: ${why}`, view, before));
    this.#deps.logger.warn(
      { experiment: this.#deps.experiment, revision: view.revision, mode },
      "human edit of the experiment flag detected",
    );
    return view;
  }

  /** Whether the flag is the one this advancer would have written next (a write not yet noted). */
  #isOwnWrite(view: ExperimentFlagView, c: PromotionControl, engine: DecisionEngine): boolean {
    if (c.flag === null || !view.exists || view.disabled) return false;
    if (view.revision !== c.flag.revision + 1) return false;
    const expected = buildManagedFlag(
      this.#deps.experiment,
      engine.routing(c.decision),
      view.revision,
      c.specHash,
      view.flag,
    );
    return flagSha256(expected) === view.sha256;
  }

  #modeChange(
    c: PromotionControl,
    now: number,
    mode: ControlMode,
    reason: string,
    view: ExperimentFlagView,
    before: { readonly revision: number; readonly sha256: string | null } | undefined,
  ): DecisionRecord {
    const was = c.mode;
    c.mode = mode;
    c.modeReason = reason;
    c.modeSinceMs = now;
    return this.#controlRecord(c, now, {
      rule: view.disabled ? "flag.disabled" : "flag.human_edit",
      reason,
      flagRevision: view.revision,
      evidence: {
        variant: "flag",
        decision: "human_edit",
        flag: view.key,
        previousRevision: before?.revision ?? null,
        revision: view.revision,
        exists: view.exists,
        state: view.exists ? (view.disabled ? "DISABLED" : "ENABLED") : null,
        control: { from: was, to: mode },
      },
    });
  }

  /** A record of the collector's own (not the engine's), numbered after the state's last. */
  #controlRecord(
    c: PromotionControl,
    now: number,
    fields: {
      readonly rule: string;
      readonly reason: string;
      readonly from?: string;
      readonly to?: string;
      readonly flagRevision?: number;
      readonly evidence: Record<string, unknown>;
    },
  ): DecisionRecord {
    const seq = c.decision.seq + 1;
    c.decision = { ...c.decision, seq };
    const stage = stageOfState(c.decision);
    return {
      schema: SCHEMA_VERSION,
      kind: "decision",
      experiment: this.#deps.experiment,
      specHash: c.specHash,
      atMs: now,
      seq,
      from: (fields.from ?? stage).slice(0, 32),
      to: (fields.to ?? stage).slice(0, 32),
      outcome: "manual",
      rule: fields.rule,
      reason:
        fields.reason.length > MAX_REASON
          ? `${fields.reason.slice(0, MAX_REASON - 1)}…`
          : fields.reason,
      actor: "collector",
      ...(fields.flagRevision === undefined ? {} : { flagRevision: fields.flagRevision }),
      evidence: fields.evidence,
    };
  }

  /** Starts a fresh evidence window for every candidate whose stage changed since its window began. */
  #syncWindows(slot: PromotionSlot, registered: RegisteredSpec, startMs: number): void {
    const d = slot.control.decision;
    for (const [variant, c] of Object.entries(d.candidates)) {
      if (FINISHED_PHASES.has(c.phase)) {
        slot.evidence.remove(variant);
        continue;
      }
      const key = windowKey(c);
      if (slot.evidence.window(variant)?.key === key) continue;
      const phase = c.phase === "held" ? (c.heldFrom?.phase ?? "shadow") : c.phase;
      slot.evidence.reset(variant, {
        key,
        baseline: phase === "watch" ? (d.previousLive ?? registered.spec.live) : d.live,
        flipped: phase === "watch",
        live: phase === "live",
        windowStartMs: Math.max(startMs, c.stageStartedMs),
      });
    }
  }

  #evidence(slot: PromotionSlot, engine: DecisionEngine, lagMs: number): ExperimentEvidence {
    const candidates: Record<string, CandidateEvidence> = {};
    for (const variant of engine.candidates) {
      const state = slot.control.decision.candidates[variant];
      // A window of an earlier stage is not this stage's evidence (its flag is still being
      // written); the engine treats a candidate without evidence as having seen nothing yet.
      if (state === undefined || slot.evidence.window(variant)?.key !== windowKey(state)) continue;
      const e = slot.evidence.evidence(variant);
      if (e !== undefined) candidates[variant] = e;
    }
    const { received, missing } = slot.evidence.exposureCounts;
    return {
      experiment: this.#deps.experiment,
      specHash: slot.control.specHash,
      collectorLagMs: lagMs,
      exposureWindows: received,
      missingExposureWindows: missing,
      candidates,
    };
  }

  /**
   * The records of an evaluation worth logging, renumbered without gaps: every change, and an
   * evaluation that changes nothing when its decision or rule differs from the candidate's last
   * logged one or `sampleMs` after it. The state's `seq` follows the log.
   */
  #keep(c: PromotionControl, evaluation: Evaluation): DecisionRecord[] {
    const kept: DecisionRecord[] = [];
    let seq = c.decision.seq;
    for (const r of evaluation.records) {
      const variant = typeof r.evidence.variant === "string" ? r.evidence.variant : "?";
      const decision = typeof r.evidence.decision === "string" ? r.evidence.decision : r.outcome;
      c.notes[variant] = {
        decision,
        outcome: r.outcome,
        rule: r.rule,
        reason: r.reason,
        atMs: r.atMs,
      };
      const routine = r.from === r.to && (decision === "wait" || decision === "extend");
      const last = c.logged[variant];
      const keep =
        !routine ||
        this.#deps.sampleMs === 0 ||
        last === undefined ||
        last.decision !== decision ||
        last.rule !== r.rule ||
        r.atMs - last.atMs >= this.#deps.sampleMs;
      if (!keep) {
        this.#deps.metrics.decisionsSampledOut.inc();
        continue;
      }
      seq += 1;
      kept.push({ ...r, seq });
      c.logged[variant] = { decision, rule: r.rule, atMs: r.atMs };
    }
    c.decision = { ...evaluation.nextState, seq };
    return kept;
  }

  /**
   * Makes a tick's or a command's outcome real, in this order: commit (the state with its
   * records in the outbox), write the flag when its routing must change, publish the outbox.
   */
  async #apply(
    state: ExperimentState,
    slot: PromotionSlot,
    engine: DecisionEngine,
    view: ExperimentFlagView | undefined,
    records: DecisionRecord[],
  ): Promise<void> {
    const c = slot.control;
    const { metrics, logger, experiment } = this.#deps;
    const routing: FlagRouting = engine.routing(c.decision);
    const needsWrite =
      view !== undefined &&
      c.mode === ControlMode.collector &&
      (c.flag === null || !flagMatches(view, routing, c.specHash));
    state.dirty = true;
    if (records.length === 0 && !needsWrite) {
      if (c.outbox.length > 0) {
        // Left by an earlier holder that committed them and wrote the flag, or not: the flag says
        // what they decided either way now.
        if (view !== undefined && c.mode === ControlMode.collector && c.flag !== null) {
          for (const r of c.outbox) r.flagRevision ??= c.flag.revision;
        }
        await this.#publishOutbox(state, c);
      }
      return;
    }
    c.outbox.push(...records);
    if (c.outbox.length > MAX_OUTBOX) {
      const dropped = c.outbox.length - MAX_OUTBOX;
      c.outbox.splice(0, dropped);
      metrics.dropped.inc({ what: "decision_outbox" }, dropped);
    }
    // A holder that lost its lease may still win the checkpoint's compare-and-swap if the new
    // holder has not written yet; asking the lease first keeps its decision out of the log.
    if (!(await this.#deps.fence())) {
      throw new CollectorError(
        CollectorErrorCode.Conflict,
        `${experiment}: the lease is no longer this replica's; the decision was not committed`,
      );
    }
    await this.#deps.partition.commit();
    let inEffect: number | undefined =
      c.mode === ControlMode.collector && !needsWrite ? c.flag?.revision : undefined;
    if (needsWrite) {
      const result = await this.#deps.flags.write({
        experiment,
        expected: c.flag,
        build: (current) =>
          buildManagedFlag(experiment, routing, current.revision + 1, c.specHash, current.flag),
        fence: async () =>
          !this.#stopped && !this.#deps.partition.stopped && (await this.#deps.fence()),
      });
      metrics.flagWrites.inc({ result: result.result });
      switch (result.result) {
        case "ok":
          c.flag = result.mark;
          inEffect = result.mark.revision;
          this.#flagProblem = null;
          logger.info(
            {
              experiment,
              revision: result.mark.revision,
              stage: routing.stage,
              live: routing.live,
              rollout: routing.rollout ?? null,
            },
            "experiment flag written",
          );
          break;
        case "conflict":
          // A human got there first: the next tick reads their version and records it.
          logger.info({ experiment, problem: result.problem }, "flag changed before the write");
          break;
        case "invalid":
          this.#flagProblem = result.problem;
          logger.error(
            { experiment, problem: result.problem },
            "the flag file would not be valid; not written",
          );
          break;
        case "fenced":
          throw new CollectorError(
            CollectorErrorCode.Conflict,
            `${experiment}: the lease is no longer this replica's; the flag was not written`,
          );
      }
    }
    const wrote = needsWrite && inEffect !== undefined;
    if (inEffect !== undefined) {
      // Records committed by an earlier holder whose flag write it did not live to make are
      // made real by this write too.
      for (const r of c.outbox) if (r.flagRevision === undefined) r.flagRevision = inEffect;
    }
    const registered = this.#deps.specs.get(experiment);
    const applied =
      wrote || (!needsWrite && view !== undefined && c.mode === ControlMode.collector);
    if (applied && registered?.hash === c.specHash) {
      this.#syncWindows(slot, registered, this.#deps.now() + (wrote ? this.#deps.settleMs : 0));
    }
    state.dirty = true;
    await this.#publishOutbox(state, c);
  }

  async #publishOutbox(state: ExperimentState, c: PromotionControl): Promise<void> {
    while (c.outbox.length > 0) {
      const record = c.outbox[0] as DecisionRecord;
      await this.#deps.log.publish(record);
      c.outbox.shift();
      state.dirty = true;
      this.#deps.metrics.decisionsPublished.inc({ outcome: record.outcome });
    }
  }

  async #command(command: PromotionCommand): Promise<void> {
    const { experiment } = this.#deps;
    const state = this.#deps.partition.state;
    const registered = this.#deps.specs.get(experiment);
    if (this.#stopped || this.#deps.partition.stopped || state === undefined) {
      throw new CollectorError(
        CollectorErrorCode.Unavailable,
        `${experiment}: this replica is handing the experiment over; retry in a moment`,
      );
    }
    if (registered === undefined) {
      throw new CollectorError(
        CollectorErrorCode.NotFound,
        `path.experiment: ${experiment} has no registered spec, so nothing to promote`,
        { field: "path.experiment" },
      );
    }
    const records: DecisionRecord[] = [];
    const slot = this.#slotFor(state, registered, records);
    const c = slot.control;
    const engine = this.engineFor(registered);
    const now = this.#nowFor(c.decision);
    const view = await this.#observeFlag(slot, engine, now, records);
    if (view === undefined) {
      await this.#apply(state, slot, engine, view, records);
      throw new CollectorError(
        CollectorErrorCode.Unavailable,
        `${experiment}: the flag file cannot be read (${this.#flagProblem ?? "unknown"}); fix it first`,
      );
    }
    if (c.mode === ControlMode.disabled) {
      await this.#apply(state, slot, engine, view, records);
      throw new CollectorError(
        CollectorErrorCode.Conflict,
        `${experiment}: ${view.key} is DISABLED by hand; enable it in the flag file first (the collector never writes a disabled flag)`,
      );
    }
    if (command.kind === PromotionCommandKind.resume) {
      if (c.mode === ControlMode.collector) {
        await this.#apply(state, slot, engine, view, records);
        throw CollectorError.invalid(
          "kind",
          `resume hands control back to the collector; ${experiment} is already under its control`,
        );
      }
      c.mode = ControlMode.collector;
      c.modeReason = `${command.actor} handed the flag back to the collector`;
      c.modeSinceMs = now;
      const reason = `${command.actor} ran resume: the collector writes ${view.key} again, from revision ${view.revision}${command.note === undefined ? "" : ` — "${command.note}"`}.`;
      const record = this.#controlRecord(c, now, {
        rule: "manual.resume",
        reason,
        evidence: { variant: "flag", decision: "resume", command: "resume" },
      });
      records.push({ ...record, actor: command.actor });
      await this.#apply(state, slot, engine, view, records);
      return;
    }
    const variant = command.variant ?? this.#onlyCandidate(command.kind, c.decision);
    let result: ReturnType<DecisionEngine["command"]>;
    try {
      result = engine.command(
        c.decision,
        {
          kind: command.kind,
          variant,
          actor: command.actor,
          ...(command.note === undefined ? {} : { note: command.note }),
        },
        now,
      );
    } catch (error) {
      // What was observed (a human edit) is still logged; the command itself is refused.
      await this.#apply(state, slot, engine, view, records);
      const e = UmbraError.from(error);
      throw new CollectorError(
        e.code === "not_found" ? CollectorErrorCode.NotFound : CollectorErrorCode.InvalidArgument,
        e.message,
        { cause: e, field: e.field === "variant" ? "body.variant" : (e.field ?? "kind") },
      );
    }
    c.decision = result.nextState;
    records.push(...result.records);
    const main = result.records[0];
    if (main !== undefined) {
      c.notes[variant] = {
        decision: command.kind,
        outcome: "manual",
        rule: main.rule,
        reason: main.reason,
        atMs: now,
      };
      c.logged[variant] = { decision: command.kind, rule: main.rule, atMs: now };
    }
    if (c.mode !== ControlMode.collector) {
      c.mode = ControlMode.collector;
      c.modeReason = `${command.actor} ran ${command.kind}, handing the flag back to the collector`;
      c.modeSinceMs = now;
    }
    await this.#apply(state, slot, engine, view, records);
  }

  /** The one candidate a command can apply to, when the request named none. */
  #onlyCandidate(kind: PromotionCommandKind, d: DecisionState): string {
    const all = Object.values(d.candidates);
    const active = (p: string) => p === "shadow" || p === "live" || p === "watch";
    let eligible: string[];
    switch (kind) {
      case "approve":
        eligible = all.filter((c) => c.phase === "held").map((c) => c.variant);
        break;
      case "hold":
        eligible = all.filter((c) => active(c.phase)).map((c) => c.variant);
        break;
      case "promote":
        eligible =
          d.rollout !== null
            ? [d.rollout]
            : all.filter((c) => c.phase === "shadow").map((c) => c.variant);
        break;
      case "rollback":
        eligible =
          d.rollout !== null
            ? [d.rollout]
            : all.filter((c) => c.phase === "done" && c.variant === d.live).map((c) => c.variant);
        break;
      default:
        eligible = [];
    }
    const only = eligible[0];
    if (eligible.length === 1 && only !== undefined) return only;
    throw CollectorError.invalid(
      "body.variant",
      eligible.length === 0
        ? `required: no candidate of ${this.#deps.experiment} can take ${kind} now (candidates: ${all.map((c) => `${c.variant} ${c.stage}`).join(", ")})`
        : `required: ${kind} could apply to ${eligible.join(", ")}`,
    );
  }
}
