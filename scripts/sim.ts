// `npm run sim [-- --json] [--runs N] [--seed N] [--workers N]`: seeded simulations of the
// promotion engine on a virtual clock. Every run draws pairs from a candidate's true profile
// and feeds the real engine tick by tick; the runs of each scenario are split among worker
// processes (the result does not depend on the split: run i always has the same seed).
// Processes rather than worker threads: tsx's loader does not reach into worker threads on
// Node 20, and a forked child gets the same command-line loader as this process.
import { type ChildProcess, fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import {
  type ScenarioSummary,
  SIMULATED_METRICS,
  type SimulationRun,
  simulateNaiveLooks,
  simulateRuns,
  simulationHeadline,
  standardScenarios,
  summarizeRuns,
} from "@umbra/compare";

type Metric = (typeof SIMULATED_METRICS)[number];
type Task =
  | { kind: "runs"; scenario: string; from: number; to: number }
  | { kind: "naive"; metric: Metric; from: number; to: number };
type Result =
  | { kind: "runs"; scenario: string; from: number; runs: SimulationRun[] }
  | { kind: "naive"; metric: Metric; runs: number; promoted: number };

/** The confidence of the naive comparison: one-sided 95% fixed-sample intervals. */
const NAIVE_CONFIDENCE = 0.95;
/** Runs per task: small enough to balance two workers, large enough to amortise the set-up. */
const CHUNK = 100;

interface Options {
  json: boolean;
  runs: number;
  seed: number;
  workers: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    json: false,
    runs: 1_000,
    seed: 20_260_301,
    workers: Math.max(1, Math.min(2, availableParallelism())),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) {
        throw new Error(`${arg} needs a non-negative integer (got ${String(argv[i])})`);
      }
      return n;
    };
    if (arg === "--json") o.json = true;
    else if (arg === "--runs") o.runs = Math.max(1, value());
    else if (arg === "--seed") o.seed = value();
    else if (arg === "--workers") o.workers = Math.max(1, value());
    else throw new Error(`unknown option ${arg} (use --json, --runs N, --seed N, --workers N)`);
  }
  return o;
}

function perform(task: Task, seed: number): Result {
  const scenarios = standardScenarios();
  if (task.kind === "runs") {
    const scenario = scenarios.find((s) => s.name === task.scenario);
    if (scenario === undefined) throw new Error(`no scenario ${task.scenario}`);
    return {
      kind: "runs",
      scenario: task.scenario,
      from: task.from,
      runs: simulateRuns(scenario, { seed, from: task.from, to: task.to }),
    };
  }
  const scenario = scenarios.find((s) => s.name === `boundary:${task.metric}`);
  if (scenario === undefined) throw new Error(`no boundary scenario for ${task.metric}`);
  const r = simulateNaiveLooks(scenario, {
    seed,
    from: task.from,
    to: task.to,
    metric: task.metric,
    confidence: NAIVE_CONFIDENCE,
  });
  return { kind: "naive", metric: task.metric, ...r };
}

function tasksFor(runs: number): Task[] {
  const tasks: Task[] = [];
  const chunks = (make: (from: number, to: number) => Task) => {
    for (let from = 0; from < runs; from += CHUNK)
      tasks.push(make(from, Math.min(runs, from + CHUNK)));
  };
  for (const s of standardScenarios()) {
    chunks((from, to) => ({ kind: "runs", scenario: s.name, from, to }));
  }
  for (const metric of SIMULATED_METRICS)
    chunks((from, to) => ({ kind: "naive", metric, from, to }));
  return tasks;
}

const WORKER_FLAG = "--simulation-worker";

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill();
  });
}

async function runAll(o: Options): Promise<Result[]> {
  const queue = tasksFor(o.runs);
  const total = queue.length;
  const results: Result[] = [];
  const progress = !o.json && process.stderr.isTTY === true;
  const script = fileURLToPath(import.meta.url);
  const children = Array.from({ length: Math.min(o.workers, total) }, () =>
    fork(script, [WORKER_FLAG, String(o.seed)], { execArgv: process.execArgv, stdio: "inherit" }),
  );
  try {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const task = queue.shift();
              if (task === undefined) {
                resolve();
                return;
              }
              child.send(task);
            };
            child.on("message", (result: Result) => {
              results.push(result);
              if (progress)
                process.stderr.write(`\r  simulating… ${results.length}/${total} tasks`);
              next();
            });
            child.on("error", reject);
            child.on("exit", (code) => {
              if (queue.length > 0 || results.length < total) {
                reject(new Error(`a simulation worker exited early (code ${String(code)})`));
              }
            });
            next();
          }),
      ),
    );
  } finally {
    if (progress) process.stderr.write("\r\x1b[K");
    await Promise.all(children.map(stop));
  }
  return results;
}

function summarize(results: Result[]) {
  const byScenario = new Map<string, { from: number; runs: SimulationRun[] }[]>();
  const naive = new Map<Metric, { runs: number; promoted: number }>();
  for (const r of results) {
    if (r.kind === "runs") {
      const parts = byScenario.get(r.scenario) ?? [];
      parts.push({ from: r.from, runs: r.runs });
      byScenario.set(r.scenario, parts);
    } else {
      const n = naive.get(r.metric) ?? { runs: 0, promoted: 0 };
      naive.set(r.metric, { runs: n.runs + r.runs, promoted: n.promoted + r.promoted });
    }
  }
  const scenarios: ScenarioSummary[] = standardScenarios().map((s) => {
    const parts = (byScenario.get(s.name) ?? []).sort((a, b) => a.from - b.from);
    return summarizeRuns(
      s.name,
      parts.flatMap((p) => p.runs),
    );
  });
  const naiveRates = Object.fromEntries(
    SIMULATED_METRICS.map((m) => {
      const n = naive.get(m) ?? { runs: 0, promoted: 0 };
      return [m, n.runs === 0 ? null : n.promoted / n.runs];
    }),
  ) as Record<Metric, number | null>;
  return { scenarios, naiveRates };
}

const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null) => (x === null ? "–" : String(Math.round(x)));

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join("  "),
    )
    .join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const results = await runAll(o);
  const { scenarios, naiveRates } = summarize(results);
  const headline = simulationHeadline(scenarios);
  const elapsedMs = Math.round(performance.now() - started);
  const promises = {
    boundary_promoted_rate: headline.boundary_promoted_rate <= 0.05,
    aa_rolled_back_rate: headline.aa_rolled_back_rate <= 0.01,
    regression_caught_rate: headline.regression_caught_rate >= 0.99,
  };
  const kept = Object.values(promises).every(Boolean);
  if (o.json) {
    console.log(
      JSON.stringify({
        ...headline,
        promises_kept: kept,
        runs: o.runs,
        seed: o.seed,
        workers: o.workers,
        elapsed_ms: elapsedMs,
        naive_boundary_promoted_rate: naiveRates,
        naive_confidence: NAIVE_CONFIDENCE,
        scenarios,
      }),
    );
  } else {
    const [first] = standardScenarios();
    console.log(
      `Umbra promotion engine — ${o.runs} seeded runs per scenario (seed ${o.seed}), ` +
        `${first?.pairsPerSecond ?? "?"} pairs/s, a tick every ${(first?.tickMs ?? 0) / 1000} s, ` +
        `shadow up to ${((first?.spec.criteria.maxDurationMs ?? 0) / 3_600_000).toFixed(0)} h\n`,
    );
    console.log(
      table([
        [
          "scenario",
          "promoted",
          "rejected",
          "held",
          "median pairs to promote",
          "to reject",
          "naive 95% promoted",
        ],
        ...scenarios.map((s) => {
          const metric = s.name.startsWith("boundary:") ? (s.name.slice(9) as Metric) : null;
          return [
            s.name,
            pct(s.promotedRate),
            pct(s.rejectedRate),
            pct(s.heldRate),
            num(s.medianPairsToPromote),
            num(s.medianPairsToReject),
            metric === null ? "" : pct(naiveRates[metric]),
          ];
        }),
      ]),
    );
    console.log("");
    console.log(
      table([
        ["promise", "measured", "bound", ""],
        [
          "boundary_promoted_rate",
          pct(headline.boundary_promoted_rate),
          "≤ 5%",
          promises.boundary_promoted_rate ? "kept" : "BROKEN",
        ],
        [
          "aa_rolled_back_rate",
          pct(headline.aa_rolled_back_rate),
          "≤ 1%",
          promises.aa_rolled_back_rate ? "kept" : "BROKEN",
        ],
        [
          "regression_caught_rate",
          pct(headline.regression_caught_rate),
          "≥ 99%",
          promises.regression_caught_rate ? "kept" : "BROKEN",
        ],
        ["regression_median_pairs", num(headline.regression_median_pairs), "", ""],
      ]),
    );
    console.log(
      `\nnaive 95%: a one-sided fixed-sample interval on the boundary metric alone, looked at every tick — what the confidence sequences replace.` +
        `\n${o.workers} worker${o.workers === 1 ? "" : "s"}, ${(elapsedMs / 1000).toFixed(1)} s`,
    );
  }
  if (!kept) process.exitCode = 1;
}

if (process.argv[2] === WORKER_FLAG) {
  const seed = Number(process.argv[3]);
  process.on("message", (task: Task) => {
    process.send?.(perform(task, seed));
  });
} else {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  });
}
