import { execFile } from "node:child_process";
import { join } from "node:path";
import { explainDecisions } from "@umbra/compare";
import { type DecisionRecord, UmbraError } from "@umbra/protocol";
import { runningChildren, tail } from "./child-process.ts";
import type { PromotionStatusSummary } from "./collector-api.ts";
import type { DemoArgs } from "./demo-args.ts";
import {
  DEMO_CRITERIA,
  DEMO_DEVICES,
  DEMO_EXPERIMENT,
  DEMO_REGIONS,
  DEMO_STAGE_HOLD_MS,
  DEMO_VARIANTS,
  DEMO_WATCH_MS,
} from "./demo-experiment.ts";
import { type DemoOutcome, judgeOutcome } from "./demo-outcome.ts";
import { type DemoStack, REPO_ROOT, startDemoStack } from "./demo-stack.ts";
import { createLogView, createProgressView, type DemoIo, type DemoView } from "./demo-view.ts";
import type { ServingStats } from "./serving-app.ts";
import {
  answersInWords,
  type DemoSnapshot,
  formatCount,
  formatElapsed,
  transitionLine,
} from "./status-line.ts";
import { startTraffic, type TrafficGenerator } from "./traffic-generator.ts";

/** Exit codes of the demo. */
export const DemoExitCode = {
  ok: 0,
  /** The outcomes did not happen (missed, or not within the deadline). */
  outcomeMissed: 1,
  usage: 2,
  /** The stack could not start. */
  startFailed: 3,
  /** Interrupted (Ctrl-C, SIGTERM). */
  interrupted: 130,
} as const;

/** How often the demo polls the collector and the serving app. */
const POLL_MS = 1_000;
/** The window over which the serving app's answers are shared out by variant. */
const ANSWER_WINDOW_MS = 3_000;
/** Without promotion, how long the demo runs traffic before it shows the comparison. */
const COMPARE_ONLY_MS = 45_000;
/** The traffic climbs to its full rate over this long. */
const WARMUP_RAMP_MS = 5_000;
/** Traffic before the spec is registered: start-up costs (JIT, connections) are not the models'. */
const WARMUP_MS = 10_000;
/** Pairs that must have reached the collector before the spec is registered: the path works. */
const WARMUP_PAIRS = 1_000;
/** A stack that is not warm by then is broken. */
const WARMUP_MAX_MS = 60_000;

/** Options of {@link runDemo}. */
export interface RunDemoOptions {
  readonly args: DemoArgs;
  readonly io: DemoIo;
  /** Aborts the run (SIGINT): traffic stops, everything is shut down, the exit code is 130. */
  readonly signal: AbortSignal;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function message(error: unknown): string {
  return UmbraError.from(error).message;
}

/** Shares of recent answers per variant, from the serving app's cumulative counts. */
function createAnswerWindow() {
  const history: { atMs: number; byLive: Readonly<Record<string, number>> }[] = [];
  return {
    add(atMs: number, byLive: Readonly<Record<string, number>>) {
      history.push({ atMs, byLive });
      while (history.length > 2 && (history[1]?.atMs ?? atMs) <= atMs - ANSWER_WINDOW_MS) {
        history.shift();
      }
    },
    shares(): Record<string, number> {
      const first = history[0];
      const last = history.at(-1);
      if (first === undefined || last === undefined) return {};
      const delta: Record<string, number> = {};
      let total = 0;
      for (const [v, n] of Object.entries(last.byLive)) {
        const d = n - (first === last ? 0 : (first.byLive[v] ?? 0));
        delta[v] = d;
        total += d;
      }
      if (total <= 0) return {};
      return Object.fromEntries(Object.entries(delta).map(([v, d]) => [v, d / total]));
    },
  };
}

async function servingStats(url: string): Promise<ServingStats | undefined> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as ServingStats) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one of the repository's CLIs (`umbra`) and resolves its exit code and output. */
function runUmbra(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, "apps/cli/bin/umbra.mjs"), ...args],
      {
        cwd: REPO_ROOT,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function intro(view: DemoView, args: DemoArgs): void {
  const c = DEMO_CRITERIA;
  view.line("Umbra demo — shadow deployment of three candidate models, on one machine.");
  view.line("");
  view.line("Production answers every user. Each candidate gets a copy of the requests (A and C");
  view.line("all, B every other one); the collector compares its answers with production's and");
  view.line("promotes or rejects it on criteria frozen before the shadow starts:");
  view.line(
    `  divergence ≤ ${c.maxDivergenceRate * 100}%, p99 latency ≤ ${c.maxShadowP99LatencyMs} ms, errors ≤ ${c.maxErrorRate * 100}%, ≥ ${formatCount(c.minSamples)} pairs, ≥ ${c.minSamplesPerSegment} per device (mobile, desktop, tablet), ≥ ${c.minDurationMs / 1_000} s`,
  );
  view.line(
    `  stages 1% → 5% → 25% → 50% → 100% of traffic, ${DEMO_STAGE_HOLD_MS / 1_000} s each, then a ${DEMO_WATCH_MS / 1_000} s watch with production mirrored`,
  );
  view.line("");
  for (const v of DEMO_VARIANTS) {
    view.line(
      `  ${v.name.padEnd(5)} ${v.role}${v.name === "prod" ? "" : ` — expected: ${v.expected}`}`,
    );
  }
  view.line("");
  view.line(
    `Traffic: ${args.ratePerSecond} requests/s (seed ${args.seed}); devices ${Object.entries(
      DEMO_DEVICES,
    )
      .map(([d, w]) => `${d} ${w}%`)
      .join(", ")}; regions ${Object.entries(DEMO_REGIONS)
      .map(([r, w]) => `${r} ${w}%`)
      .join(", ")}.`,
  );
  view.line("");
  view.line("Starting:");
}

function outcomeLines(outcome: DemoOutcome): string[] {
  return outcome.candidates.map((c) => {
    const mark = c.met ? "✓" : "✗";
    const reason = c.standing.reason ?? c.standing.latest ?? "no decision yet";
    return `${mark} ${c.variant} ${c.expected}: ${c.standing.stage} — ${reason}`;
  });
}

/**
 * Runs the whole demo: starts the stack, sends traffic, follows the collector's decisions until
 * A is promoted to live, B rejected for latency and C rejected for its mobile segment (or one
 * of them ends elsewhere, or the deadline passes), prints the side-by-side report and the
 * decision history, and stops everything. Resolves the exit code ({@link DemoExitCode}).
 */
export async function runDemo(options: RunDemoOptions): Promise<number> {
  const { args, io, signal } = options;
  const view = args.ci || io.stdout.isTTY !== true ? createLogView(io) : createProgressView(io);
  const startedMs = Date.now();
  intro(view, args);

  let stack: DemoStack;
  try {
    stack = await startDemoStack({ log: (l) => view.line(`  ${l}`) });
  } catch (error) {
    view.line(`\n✗ the demo could not start: ${message(error)}`);
    return DemoExitCode.startFailed;
  }
  let code: number = DemoExitCode.outcomeMissed;
  try {
    code = await drive(stack, options, view);
  } catch (error) {
    view.stop();
    view.line(`\n✗ the demo failed: ${message(error)}`);
    code = DemoExitCode.outcomeMissed;
  } finally {
    view.stop();
    view.line("");
    view.line("Stopping: serving app, collector, model servers, nats-server…");
    await stack.close({ fast: signal.aborted });
    const left = runningChildren();
    view.line(
      left.length === 0
        ? `Stopped; nothing left running. Total ${formatElapsed(Date.now() - startedMs)}.`
        : `Still running after stop: pids ${left.join(", ")}.`,
    );
  }
  return signal.aborted ? DemoExitCode.interrupted : code;
}

async function drive(stack: DemoStack, options: RunDemoOptions, view: DemoView): Promise<number> {
  const { args, signal } = options;
  const experiment = DEMO_EXPERIMENT;
  // A collector that serves the flag file promotes; an older one only compares.
  const promotion = stack.flagSource.by === "collector";
  view.line("");
  if (!promotion) {
    view.line(
      "This collector has no promotion (it serves no flag file): the demo sends traffic and shows the comparison only.",
    );
  }

  const traffic = startTraffic({
    url: stack.servingApp.value,
    ratePerSecond: args.ratePerSecond,
    seed: args.seed,
    devices: DEMO_DEVICES,
    regions: DEMO_REGIONS,
    rampMs: WARMUP_RAMP_MS,
  });
  const trafficStartedMs = Date.now();
  view.line(
    `Traffic to the serving app climbs to ${args.ratePerSecond} requests/s over ${WARMUP_RAMP_MS / 1_000} s. The first ${WARMUP_MS / 1_000} s are a warm-up (every process compiles, connects, fills its caches) and are not judged: the spec is registered after them.`,
  );
  view.line("");
  const answers = createAnswerWindow();
  const seen = new Set<number>();
  let records: DecisionRecord[] = [];
  let lastSeqRead = 0;
  let status: PromotionStatusSummary | undefined;
  let outcome = judgeOutcome([]);
  let metAtMs: number | undefined;
  let verdict: { code: number; text: string } | undefined;
  let registeredAtMs: number | undefined;
  let warmupPairs = 0;

  const stamp = () => `[${formatElapsed(Date.now() - trafficStartedMs)}]`;
  try {
    while (!signal.aborted && verdict === undefined) {
      await pause(POLL_MS, signal);
      if (signal.aborted) break;
      const elapsedMs = Date.now() - trafficStartedMs;
      if (registeredAtMs === undefined) {
        warmupPairs =
          (await stack.api.report(experiment).catch(() => undefined))?.counts.pairs ?? 0;
        if (elapsedMs >= WARMUP_MS && warmupPairs >= WARMUP_PAIRS) {
          // Criteria are frozen here, before the first judged pair.
          await stack.api.registerSpec(stack.spec);
          registeredAtMs = Date.now();
          view.line(
            `${stamp()} spec registered (${formatCount(warmupPairs)} warm-up pairs reached the collector): criteria frozen, the experiment starts.`,
          );
        } else if (elapsedMs >= WARMUP_MAX_MS) {
          verdict = {
            code: DemoExitCode.outcomeMissed,
            text: `✗ the stack did not warm up within ${formatElapsed(WARMUP_MAX_MS)}: ${formatCount(warmupPairs)} pairs reached the collector (${formatCount(WARMUP_PAIRS)} expected).`,
          };
        }
      } else if (promotion) {
        try {
          status = (await stack.api.status(experiment)) ?? status;
          // The log is read again only when it has grown.
          if (status !== undefined && status.decisions.lastSeq > lastSeqRead) {
            records = (await stack.api.decisions(experiment)) ?? records;
            lastSeqRead = Math.max(0, ...records.map((r) => r.seq));
          }
        } catch (error) {
          view.line(`${stamp()} (collector not answering: ${message(error)})`);
        }
        for (const r of [...records].sort((a, b) => a.seq - b.seq)) {
          if (seen.has(r.seq)) continue;
          seen.add(r.seq);
          if (r.from !== r.to) view.line(`${stamp()} ${transitionLine(r)}`);
        }
        outcome = judgeOutcome(records);
      }
      const stats = await servingStats(stack.servingApp.value);
      if (stats !== undefined) answers.add(Date.now(), stats.byLive);
      const snapshot: DemoSnapshot = {
        elapsedMs,
        traffic: traffic.stats(),
        answers: answers.shares(),
        outcome,
        promotion,
        summary:
          registeredAtMs === undefined
            ? `warming up, not judged: ${formatCount(warmupPairs)} pairs at the collector`
            : status?.summary,
        reasons: Object.fromEntries((status?.candidates ?? []).map((c) => [c.variant, c.reason])),
      };
      view.status(snapshot);

      if (registeredAtMs === undefined) continue;
      if (!promotion) {
        if (elapsedMs >= COMPARE_ONLY_MS) {
          verdict = {
            code: args.ci ? DemoExitCode.outcomeMissed : DemoExitCode.ok,
            text: "✗ no promotion in this collector: A, B and C were compared but not decided.",
          };
        }
        continue;
      }
      if (outcome.missed) {
        verdict = {
          code: DemoExitCode.outcomeMissed,
          text: `✗ not what the demo expects:\n${outcomeLines(outcome)
            .filter((l) => l.startsWith("✗"))
            .join("\n")}`,
        };
      } else if (outcome.met) {
        metAtMs ??= Date.now();
        const a = outcome.candidates[0].standing.stage;
        // Let the watch finish (A done) for the full story, but do not wait forever for it.
        if (a === "done" || Date.now() - metAtMs > DEMO_WATCH_MS + 20_000) {
          const share = snapshot.answers.A ?? 0;
          verdict =
            share >= 0.99
              ? {
                  code: DemoExitCode.ok,
                  text: `✓ all three outcomes in ${formatElapsed(elapsedMs)}; the serving app's last answers came from ${answersInWords(snapshot.answers)}.`,
                }
              : {
                  code: DemoExitCode.outcomeMissed,
                  text: `✗ A is ${a}, but the serving app's last answers came from ${answersInWords(snapshot.answers)}: the SDK did not follow the flag.`,
                };
        }
      } else if (elapsedMs >= args.deadlineMs) {
        verdict = {
          code: DemoExitCode.outcomeMissed,
          text: `✗ the outcomes did not all happen within ${formatElapsed(args.deadlineMs)}:\n${outcomeLines(
            outcome,
          )
            .map((l, i) =>
              l.startsWith("✗")
                ? `${l} (latest: ${outcome.candidates[i]?.standing.latest ?? "nothing"})`
                : l,
            )
            .join("\n")}`,
        };
      }
    }
  } finally {
    await traffic.stop();
    view.stop();
  }
  if (signal.aborted) {
    view.line("\nInterrupted.");
    return DemoExitCode.interrupted;
  }
  await finalReport(stack, view, traffic, outcome, promotion, records);
  if (verdict?.code !== DemoExitCode.ok) await diagnostics(stack, view);
  view.line("");
  view.line(verdict?.text ?? "");
  return verdict?.code ?? DemoExitCode.outcomeMissed;
}

/** What helps explain a run that went wrong: outcomes per variant, and the processes' last words. */
async function diagnostics(stack: DemoStack, view: DemoView): Promise<void> {
  view.line("");
  view.line("Diagnostics:");
  const report = await stack.api.report(DEMO_EXPERIMENT).catch(() => undefined);
  for (const v of report?.comparison?.variants ?? []) {
    view.line(
      `  ${v.variant}: ${v.pairs} pairs, outcomes ${JSON.stringify(v.outcomes ?? {})}, drops ${JSON.stringify(v.dropReasons?.pairs ?? {})}`,
    );
  }
  for (const child of [stack.collector, stack.servingApp]) {
    view.line(`  last output of the ${child.name}:`);
    for (const l of tail(child.output(), 15).split("\n")) view.line(`    ${l.slice(0, 400)}`);
  }
}

async function finalReport(
  stack: DemoStack,
  view: DemoView,
  traffic: TrafficGenerator,
  outcome: DemoOutcome,
  promotion: boolean,
  records: readonly DecisionRecord[],
): Promise<void> {
  const t = traffic.stats();
  view.line("");
  view.line(
    `Traffic: ${formatCount(t.sent)} requests, ${formatCount(t.ok)} answered, ${formatCount(t.failed)} failed; round trip p50 ${t.p50Ms?.toFixed(1) ?? "–"} ms, p99 ${t.p99Ms?.toFixed(1) ?? "–"} ms.`,
  );
  if (promotion) {
    view.line("");
    view.line("Outcomes:");
    for (const l of outcomeLines(outcome)) view.line(`  ${l}`);
  }
  const url = stack.collector.value.url;
  const umbra = async (...args: string[]) => {
    view.line("");
    view.line(`$ umbra ${args.join(" ")} --url ${url}`);
    const r = await runUmbra([...args, "--url", url]);
    view.line((r.code === 0 ? r.stdout : `${r.stdout}${r.stderr}`).trimEnd());
    return r.code;
  };
  if (promotion) await umbra("status", DEMO_EXPERIMENT);
  await umbra("report", DEMO_EXPERIMENT);
  await umbra("examples", DEMO_EXPERIMENT, "C", "--segment", "device:mobile", "--limit", "2");
  if (!promotion) return;
  if ((await umbra("explain", DEMO_EXPERIMENT)) !== 0) {
    // An `umbra` without `explain`: the same words, from the records the demo has read.
    view.line(explainDecisions(records));
  }
}
