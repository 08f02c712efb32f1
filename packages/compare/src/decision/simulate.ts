import { type ExperimentSpec, UmbraError } from "@umbra/protocol";
import { normalQuantile } from "../statistics/normal-quantile.ts";
import { createSeededRandom, hashSeed, type SeededRandom } from "../statistics/seeded-random.ts";
import { wilsonBound } from "../statistics/wilson.ts";
import { createDecisionEngine, type DecisionEngine } from "./decision-engine.ts";
import type { DecisionPolicy } from "./decision-policy.ts";
import type { Decision } from "./decision-state.ts";
import type { CandidateEvidence } from "./evidence.ts";
import { createEvidenceAccumulator, type PairObservation } from "./evidence-accumulator.ts";

/** A log-normal latency distribution given by its median and p99. */
export interface LatencyProfile {
  readonly medianMs: number;
  readonly p99Ms: number;
}

/** The true behaviour of a simulated candidate against production. */
export interface CandidateProfile {
  /** P(an attempt answers with an error). */
  readonly errorRate: number;
  /** P(compared outputs diverge). */
  readonly divergenceRate: number;
  /** P(candidate and production differ in correctness) — the spread of the quality difference. */
  readonly qualityDiscordance: number;
  /** E[quality difference]: P(candidate right, production wrong) − P(the reverse). */
  readonly qualityDifference: number;
  /** The candidate's latency. */
  readonly latency: LatencyProfile;
  /** A latency above this is a timeout. */
  readonly deadlineMs: number;
}

/** One simulated situation: a spec, a candidate's true profile, traffic and the tick. */
export interface SimulationScenario {
  /** A name, also part of every run's seed. */
  readonly name: string;
  /** The spec; the first candidate is simulated. */
  readonly spec: ExperimentSpec;
  /** The candidate's profile on all traffic. */
  readonly profile: CandidateProfile;
  /** Profile overrides per segment value, keyed `attribute=value`. */
  readonly segmentProfiles?: Readonly<Record<string, Partial<CandidateProfile>>>;
  /** The share of each value of each declared attribute (values must sum to 1). */
  readonly segmentShares: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Compared pairs arriving per second (virtual time). */
  readonly pairsPerSecond: number;
  /** Time between engine ticks. */
  readonly tickMs: number;
  /** Engine policy overrides. */
  readonly policy?: Partial<DecisionPolicy>;
}

/** How one simulated shadow phase ended. */
export interface SimulationRun {
  /** `promote`, `reject` or `hold`; `wait`/`extend` only if the tick budget ran out. */
  readonly decision: Decision;
  /** The rule that decided. */
  readonly rule: string;
  /** Compared pairs seen when the decision was taken. */
  readonly pairs: number;
  /** Virtual time from the first tick to the decision. */
  readonly elapsedMs: number;
}

/** The outcomes of many runs of one scenario. */
export interface ScenarioSummary {
  readonly name: string;
  readonly runs: number;
  readonly promoted: number;
  readonly rejected: number;
  readonly held: number;
  readonly promotedRate: number;
  readonly rejectedRate: number;
  readonly heldRate: number;
  /** Median compared pairs at promotion; `null` if none was promoted. */
  readonly medianPairsToPromote: number | null;
  /** Median compared pairs at rejection; `null` if none was rejected. */
  readonly medianPairsToReject: number | null;
  /** The rules that rejected runs, with counts. */
  readonly rejectRules: Readonly<Record<string, number>>;
}

const START_MS = Date.UTC(2026, 0, 1);

/** One combination of segment values of a scenario, with its effective profile. */
export interface SimulationCell {
  readonly segment: Record<string, string>;
  readonly profile: CandidateProfile;
  readonly mu: number;
  readonly sigma: number;
  readonly better: number;
  readonly worse: number;
}

function checkProfile(p: CandidateProfile, where: string): void {
  const prob = (v: number, f: string) => {
    if (!(v >= 0 && v <= 1)) throw UmbraError.invalid(`${where}.${f}`, "must be in [0, 1]");
  };
  prob(p.errorRate, "errorRate");
  prob(p.divergenceRate, "divergenceRate");
  prob(p.qualityDiscordance, "qualityDiscordance");
  if (Math.abs(p.qualityDifference) > p.qualityDiscordance) {
    throw UmbraError.invalid(`${where}.qualityDifference`, "must be within ±qualityDiscordance");
  }
  if (!(p.latency.medianMs > 0 && p.latency.p99Ms > p.latency.medianMs)) {
    throw UmbraError.invalid(`${where}.latency`, "needs 0 < medianMs < p99Ms");
  }
}

function cellsOf(s: SimulationScenario): { cells: SimulationCell[]; cumulative: number[] } {
  let combos: { segment: Record<string, string>; share: number; keys: string[] }[] = [
    { segment: {}, share: 1, keys: [] },
  ];
  for (const [attribute, shares] of Object.entries(s.segmentShares)) {
    const total = Object.values(shares).reduce((a, b) => a + b, 0);
    if (Math.abs(total - 1) > 1e-9) {
      throw UmbraError.invalid(`segmentShares.${attribute}`, "must sum to 1");
    }
    combos = combos.flatMap((c) =>
      Object.entries(shares).map(([value, share]) => ({
        segment: { ...c.segment, [attribute]: value },
        share: c.share * share,
        keys: [...c.keys, `${attribute}=${value}`],
      })),
    );
  }
  const z99 = normalQuantile(0.99);
  const cells: SimulationCell[] = [];
  const cumulative: number[] = [];
  let acc = 0;
  for (const combo of combos) {
    let profile = s.profile;
    for (const key of combo.keys) profile = { ...profile, ...(s.segmentProfiles?.[key] ?? {}) };
    checkProfile(profile, `profile[${combo.keys.join(",") || "overall"}]`);
    const mu = Math.log(profile.latency.medianMs);
    cells.push({
      segment: combo.segment,
      profile,
      mu,
      sigma: (Math.log(profile.latency.p99Ms) - mu) / z99,
      better: (profile.qualityDiscordance + profile.qualityDifference) / 2,
      worse: (profile.qualityDiscordance - profile.qualityDifference) / 2,
    });
    acc += combo.share;
    cumulative.push(acc);
  }
  return { cells, cumulative };
}

function uniformOpen(random: SeededRandom): number {
  // (0, 1): the normal quantile is infinite at 0.
  return (random.next() * 4294967296 + 0.5) / 4294967296;
}

/** One pair's facts, reused from pair to pair: the runs draw millions of them. */
interface ScratchPair {
  outcome: PairObservation["outcome"];
  timestampMs: number;
  segment: Readonly<Record<string, string>>;
  latencyMs: number | undefined;
  divergent: boolean;
  qualityDifference: number | undefined;
}

function drawPair(cell: SimulationCell, random: SeededRandom, pair: ScratchPair): void {
  const p = cell.profile;
  pair.segment = cell.segment;
  pair.latencyMs = undefined;
  pair.divergent = false;
  pair.qualityDifference = undefined;
  if (random.next() < p.errorRate) {
    pair.outcome = "error";
    return;
  }
  const latencyMs = Math.exp(cell.mu + cell.sigma * normalQuantile(uniformOpen(random)));
  if (latencyMs > p.deadlineMs) {
    pair.outcome = "timeout";
    return;
  }
  const q = random.next();
  pair.outcome = "ok";
  pair.latencyMs = latencyMs;
  pair.divergent = random.next() < p.divergenceRate;
  pair.qualityDifference = q < cell.better ? 1 : q < cell.better + cell.worse ? -1 : 0;
}

/** A prepared scenario: its engine and pair cells are built once and shared by its runs. */
export interface PreparedScenario {
  readonly scenario: SimulationScenario;
  readonly engine: DecisionEngine;
  readonly candidate: string;
  readonly cells: readonly SimulationCell[];
  readonly cumulative: readonly number[];
  readonly maxTicks: number;
}

/** Validates a scenario and builds what its runs share. */
export function prepareScenario(scenario: SimulationScenario): PreparedScenario {
  if (!(scenario.pairsPerSecond > 0)) throw UmbraError.invalid("pairsPerSecond", "must be > 0");
  if (!(Number.isInteger(scenario.tickMs) && scenario.tickMs > 0)) {
    throw UmbraError.invalid("tickMs", "must be an integer > 0");
  }
  const engine = createDecisionEngine({
    spec: scenario.spec,
    ...(scenario.policy === undefined ? {} : { policy: scenario.policy }),
  });
  const candidate = engine.candidates[0];
  if (candidate === undefined) throw UmbraError.invalid("spec.variants", "needs a candidate");
  const { cells, cumulative } = cellsOf(scenario);
  const maxDurationMs = scenario.spec.criteria.maxDurationMs ?? engine.policy.defaultMaxDurationMs;
  return {
    scenario,
    engine,
    candidate,
    cells,
    cumulative,
    maxTicks: Math.ceil(maxDurationMs / scenario.tickMs) + 2,
  };
}

/** One tick of a simulated run: the time and the candidate's evidence so far. */
interface SimulatedTick {
  readonly tick: number;
  readonly nowMs: number;
  readonly evidence: CandidateEvidence;
}

/** Draws a run's pairs from the profile and yields the candidate's evidence tick by tick. */
function* simulatedTicks(prepared: PreparedScenario, seed: number): Generator<SimulatedTick> {
  const { scenario, cells, cumulative } = prepared;
  const random = createSeededRandom(seed);
  const accumulator = createEvidenceAccumulator({ spec: scenario.spec, windowStartMs: START_MS });
  const perTick = (scenario.pairsPerSecond * scenario.tickMs) / 1000;
  const pair: ScratchPair = {
    outcome: "ok",
    timestampMs: 0,
    segment: {},
    latencyMs: undefined,
    divergent: false,
    qualityDifference: undefined,
  };
  let owed = 0;
  let nowMs = START_MS;
  for (let tick = 1; tick <= prepared.maxTicks; tick++) {
    owed += perTick;
    const n = Math.floor(owed);
    owed -= n;
    for (let i = 0; i < n; i++) {
      pair.timestampMs = nowMs + Math.floor(((i + 1) * scenario.tickMs) / (n + 1));
      const u = random.next();
      let k = 0;
      while (k < cumulative.length - 1 && u >= (cumulative[k] as number)) k++;
      drawPair(cells[k] as SimulationCell, random, pair);
      // The accumulator reads `undefined` fields as absent, as it would optional ones.
      accumulator.add(pair as PairObservation);
    }
    accumulator.addPlannedMirrors(n);
    nowMs += scenario.tickMs;
    yield { tick, nowMs, evidence: accumulator.evidence() };
  }
}

/**
 * One seeded run of the shadow phase through the real engine on a virtual clock: pairs drawn
 * from the profile are fed tick by tick, and the run ends at the first promote, reject or hold.
 * Same scenario and seed, same run.
 */
export function simulateRun(prepared: PreparedScenario, seed: number): SimulationRun {
  const { scenario, engine, candidate } = prepared;
  let state = engine.start(START_MS);
  let last: SimulationRun = { decision: "wait", rule: "none", pairs: 0, elapsedMs: 0 };
  for (const { tick, nowMs, evidence } of simulatedTicks(prepared, seed)) {
    const evaluation = engine.evaluate(
      state,
      {
        experiment: scenario.spec.experiment,
        specHash: engine.specHash,
        collectorLagMs: 0,
        exposureWindows: tick,
        missingExposureWindows: 0,
        candidates: { [candidate]: evidence },
      },
      nowMs,
    );
    const result = evaluation.candidates.find((c) => c.variant === candidate);
    if (result === undefined) break;
    last = {
      decision: result.decision,
      rule: result.rule,
      pairs: evidence.overall.compared,
      elapsedMs: nowMs - START_MS,
    };
    if (
      result.decision === "promote" ||
      result.decision === "reject" ||
      result.decision === "hold"
    ) {
      return last;
    }
    state = evaluation.nextState;
  }
  return last;
}

/** The seed of run `index` of a scenario: independent of how runs are split among workers. */
export function runSeed(seed: number, scenario: string, index: number): number {
  return hashSeed(seed, `${scenario}/${index}`);
}

/** Runs `from` (inclusive) to `to` (exclusive) of a scenario. */
export function simulateRuns(
  scenario: SimulationScenario,
  options: { readonly seed: number; readonly from: number; readonly to: number },
): SimulationRun[] {
  const prepared = prepareScenario(scenario);
  const out: SimulationRun[] = [];
  for (let i = options.from; i < options.to; i++) {
    out.push(simulateRun(prepared, runSeed(options.seed, scenario.name, i)));
  }
  return out;
}

/**
 * How many runs a naive rule would promote: a one-sided fixed-sample interval at
 * `confidence` (Wilson for rates, normal for the quality mean), on `metric` alone, overall
 * only, looked at every tick once the minimum samples and duration are met. Run on a boundary
 * scenario it shows what repeated looks do to a fixed-sample guarantee; the engine's
 * confidence sequences are the remedy.
 */
export function simulateNaiveLooks(
  scenario: SimulationScenario,
  options: {
    readonly seed: number;
    /** First run (inclusive). */
    readonly from: number;
    /** Last run (exclusive). */
    readonly to: number;
    readonly metric: (typeof SIMULATED_METRICS)[number];
    readonly confidence: number;
  },
): { readonly runs: number; readonly promoted: number } {
  const prepared = prepareScenario(scenario);
  const c = scenario.spec.criteria;
  const z = normalQuantile(options.confidence);
  let promoted = 0;
  for (let i = options.from; i < options.to; i++) {
    for (const { nowMs, evidence } of simulatedTicks(
      prepared,
      runSeed(options.seed, scenario.name, i),
    )) {
      const o = evidence.overall;
      const first = evidence.firstSeenMs ?? nowMs;
      if (o.compared < c.minSamples || nowMs - first < c.minDurationMs) continue;
      let pass: boolean;
      if (options.metric === "quality") {
        const q = o.quality;
        const mean = q.sum / q.pairs;
        const sd = Math.sqrt(Math.max(0, q.sumOfSquares / q.pairs - mean * mean));
        pass = mean - (z * sd) / Math.sqrt(q.pairs) > -(c.qualityMargin ?? 0);
      } else if (options.metric === "divergence") {
        pass =
          wilsonBound(o.divergent, o.compared, "upper", options.confidence) <
          (c.maxDivergenceRate ?? 0);
      } else if (options.metric === "latency_p99") {
        pass =
          wilsonBound(o.latency.aboveLimit, o.latency.samples, "upper", options.confidence) < 0.01;
      } else {
        const attempts = o.outcomes.ok + o.outcomes.error + o.outcomes.timeout;
        const errors = o.outcomes.error + o.outcomes.timeout;
        pass = wilsonBound(errors, attempts, "upper", options.confidence) < (c.maxErrorRate ?? 0);
      }
      if (pass) {
        promoted++;
        break;
      }
    }
  }
  return { runs: Math.max(0, options.to - options.from), promoted };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Counts the outcomes of a scenario's runs. */
export function summarizeRuns(name: string, runs: readonly SimulationRun[]): ScenarioSummary {
  let promoted = 0;
  let rejected = 0;
  let held = 0;
  const toPromote: number[] = [];
  const toReject: number[] = [];
  const rejectRules: Record<string, number> = {};
  for (const run of runs) {
    if (run.decision === "promote") {
      promoted++;
      toPromote.push(run.pairs);
    } else if (run.decision === "reject") {
      rejected++;
      toReject.push(run.pairs);
      rejectRules[run.rule] = (rejectRules[run.rule] ?? 0) + 1;
    } else {
      held++;
    }
  }
  const n = Math.max(1, runs.length);
  return {
    name,
    runs: runs.length,
    promoted,
    rejected,
    held,
    promotedRate: promoted / n,
    rejectedRate: rejected / n,
    heldRate: held / n,
    medianPairsToPromote: median(toPromote),
    medianPairsToReject: median(toReject),
    rejectRules,
  };
}

/** Runs a scenario `runs` times, run i seeded from (`seed`, name, i), and counts the outcomes. */
export function runScenario(
  scenario: SimulationScenario,
  options: { readonly runs: number; readonly seed: number },
): ScenarioSummary {
  if (!(Number.isInteger(options.runs) && options.runs > 0)) {
    throw UmbraError.invalid("runs", "must be an integer > 0");
  }
  const runs = simulateRuns(scenario, { seed: options.seed, from: 0, to: options.runs });
  return summarizeRuns(scenario.name, runs);
}

/** The spec of the standard simulations: every criterion declared, one segment attribute. */
export const SIMULATION_SPEC: ExperimentSpec = Object.freeze({
  schema: 1,
  experiment: "sim",
  live: "prod",
  variants: { prod: { target: { kind: "local" } }, cand: { target: { kind: "local" } } },
  outputs: { score: { kind: "numeric" } },
  segments: [{ attribute: "device", values: ["mobile", "desktop"] }],
  criteria: {
    maxDivergenceRate: 0.1,
    qualityMargin: 0.02,
    maxShadowP99LatencyMs: 100,
    maxErrorRate: 0.01,
    maxSideEffectAttempts: 0,
    minCoverage: 0.9,
    minSamples: 2_000,
    minSamplesPerSegment: 500,
    minDurationMs: 600_000,
    maxDurationMs: 2 * 3_600_000,
    alpha: 0.05,
  },
}) as ExperimentSpec;

/**
 * A log-normal latency with the given median whose share above `limitMs` is `exceedance`:
 * `latencyAbove(40, 100, 0.01)` puts the p99 exactly at 100 ms.
 */
export function latencyAbove(
  medianMs: number,
  limitMs: number,
  exceedance: number,
): LatencyProfile {
  const sigma = Math.log(limitMs / medianMs) / normalQuantile(1 - exceedance);
  return { medianMs, p99Ms: medianMs * Math.exp(sigma * normalQuantile(0.99)) };
}

/** An identical candidate (A/A): production's own behaviour, well inside every limit. */
export const AA_PROFILE: CandidateProfile = Object.freeze({
  errorRate: 0.002,
  divergenceRate: 0.03,
  qualityDiscordance: 0.1,
  qualityDifference: 0,
  latency: { medianMs: 40, p99Ms: 60 },
  deadlineMs: 400,
});

/** The criteria the standard simulations push to their limit, one at a time. */
export const SIMULATED_METRICS = ["divergence", "quality", "latency_p99", "error_rate"] as const;

function atLimit(metric: (typeof SIMULATED_METRICS)[number], times: number): CandidateProfile {
  const c = SIMULATION_SPEC.criteria;
  switch (metric) {
    case "divergence":
      return { ...AA_PROFILE, divergenceRate: (c.maxDivergenceRate ?? 0) * times };
    case "quality":
      return { ...AA_PROFILE, qualityDifference: -(c.qualityMargin ?? 0) * times };
    case "latency_p99":
      return {
        ...AA_PROFILE,
        latency: latencyAbove(40, c.maxShadowP99LatencyMs ?? 0, 0.01 * times),
      };
    case "error_rate":
      return { ...AA_PROFILE, errorRate: (c.maxErrorRate ?? 0) * times };
  }
}

/** Options of {@link standardScenarios}. */
export interface StandardScenarioOptions {
  /** Compared pairs per second. Default 5. */
  readonly pairsPerSecond?: number;
  /** Time between ticks. Default 60 000. */
  readonly tickMs?: number;
  /** The shadow's maximum duration (where boundary runs end, held). Default the spec's 2 hours. */
  readonly maxDurationMs?: number;
}

/**
 * The scenarios behind the engine's three promises, on {@link SIMULATION_SPEC} with a
 * 40/60 mobile/desktop split: `boundary:<metric>` — one criterion exactly at its limit, the rest
 * like production (must be promoted rarely); `aa` — an identical candidate (must almost never
 * be rejected); `regression:<metric>` — one criterion at twice its limit (must almost always
 * be caught).
 */
export function standardScenarios(options: StandardScenarioOptions = {}): SimulationScenario[] {
  const spec: ExperimentSpec =
    options.maxDurationMs === undefined
      ? SIMULATION_SPEC
      : {
          ...SIMULATION_SPEC,
          criteria: { ...SIMULATION_SPEC.criteria, maxDurationMs: options.maxDurationMs },
        };
  const base = {
    spec,
    segmentShares: { device: { mobile: 0.4, desktop: 0.6 } },
    pairsPerSecond: options.pairsPerSecond ?? 5,
    tickMs: options.tickMs ?? 60_000,
  };
  return [
    ...SIMULATED_METRICS.map((m) => ({ ...base, name: `boundary:${m}`, profile: atLimit(m, 1) })),
    { ...base, name: "aa", profile: AA_PROFILE },
    ...SIMULATED_METRICS.map((m) => ({ ...base, name: `regression:${m}`, profile: atLimit(m, 2) })),
  ];
}

/** The headline numbers of the standard simulations (worst case over the metrics). */
export interface SimulationHeadline {
  /** The largest share of boundary candidates promoted (promise: ≤ 5%). */
  readonly boundary_promoted_rate: number;
  /** The share of A/A candidates rejected or rolled back (promise: ≤ 1%). */
  readonly aa_rolled_back_rate: number;
  /** The smallest share of 2× regressions rejected (promise: ≥ 99%). */
  readonly regression_caught_rate: number;
  /** The largest median of compared pairs a 2× regression needed to be rejected. */
  readonly regression_median_pairs: number | null;
}

/** Reduces scenario summaries (named as by {@link standardScenarios}) to the headline numbers. */
export function simulationHeadline(summaries: readonly ScenarioSummary[]): SimulationHeadline {
  const of = (prefix: string) => summaries.filter((s) => s.name.startsWith(prefix));
  const boundary = of("boundary:");
  const regression = of("regression:");
  const aa = summaries.find((s) => s.name === "aa");
  const medians = regression.map((s) => s.medianPairsToReject);
  return {
    boundary_promoted_rate: Math.max(0, ...boundary.map((s) => s.promotedRate)),
    aa_rolled_back_rate: aa?.rejectedRate ?? Number.NaN,
    regression_caught_rate: Math.min(1, ...regression.map((s) => s.rejectedRate)),
    regression_median_pairs: medians.some((m) => m === null)
      ? null
      : Math.max(0, ...(medians as number[])),
  };
}
