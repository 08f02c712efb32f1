// `npm run bench -- sdk [--json] [--requests N] [--seconds S] [--model-us US]`
//
// What the SDK costs the serving process, as ratios against calling the live model directly, all
// measured in one run. The shadows are `umbra-variant` processes (the bin, as users run them);
// flags come from a flag file served over flagd.sync.v1 to the in-process flagd provider; records
// go to a private nats-server. Each request arrives in its own macrotask, as it would from a socket.
//
// 1. Latency: sequential requests; per-request latency p50/p99 and event-loop time per request
//    (ELU active time, which includes the hand-off work after the answer), with 3 shadows at 100%,
//    worker and inline engines, minus the direct call.
// 2. Throughput: 64 requests in flight for S seconds; requests/s with 3 shadows at 25% and at 100%
//    (worker) against the direct call.
// 3. Faulty shadows: latency p99 with shadows that hang, error on every call and answer 50× slower,
//    against healthy shadows (worker).
import { type ChildProcess, spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { serveFlagSync, watchFlagFile } from "@umbra/proto";
import { buildExperimentFlag, buildFlagFile, type ExperimentFlagOptions } from "@umbra/protocol";
import { createFlagFileFixture, startNats } from "@umbra/testing";
import { pino } from "pino";
import { createShadow, type Shadow } from "../src/create-shadow.ts";
import { oip } from "../src/variants.ts";

type Features = Float32Array;
type Answer = { label: string; scores: number[] };

/**
 * The production model: a dense layer repeated until it has cost `modelUs` of CPU (calibrated at
 * start), standing in for a small real model. The added costs are absolute and do not depend on
 * it; the throughput ratio does, so the report states it.
 */
const WEIGHTS = Float32Array.from({ length: 8 * 64 }, (_, i) => Math.sin(i));
let rounds = 1;
let sink = 0;
function layer(f: Features): number {
  let a = 0;
  for (let j = 0; j < 64; j++) {
    let z = 0;
    for (let i = 0; i < 8; i++) z += (WEIGHTS[j * 8 + i] ?? 0) * (f[i] ?? 0);
    a += Math.max(0, z);
  }
  return a;
}
function model(f: Features): Answer {
  let a = 0;
  for (let r = 0; r < rounds; r++) a += layer(f) / (r + 1);
  sink += a;
  const p = 1 / (1 + Math.exp(-a / rounds));
  return { label: p > 0.5 ? "positive" : "negative", scores: [p, 1 - p] };
}
function calibrate(modelUs: number): void {
  const f = Float32Array.from({ length: 8 }, (_, i) => i / 8);
  for (let i = 0; i < 20_000; i++) layer(f);
  const t0 = performance.now();
  for (let i = 0; i < 20_000; i++) sink += layer(f);
  const perLayerUs = ((performance.now() - t0) * 1_000) / 20_000;
  rounds = Math.max(1, Math.round(modelUs / perLayerUs));
}

interface Options {
  json: boolean;
  requests: number;
  seconds: number;
  modelUs: number;
}

function parse(args: string[]): Options {
  const o: Options = { json: false, requests: 4_000, seconds: 4, modelUs: 200 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => {
      const v = Number(args[++i]);
      if (!Number.isFinite(v) || v <= 0)
        throw new Error(`${a}: must be a positive number (got ${args[i]})`);
      return v;
    };
    if (a === "--json") o.json = true;
    else if (a === "--requests") o.requests = Math.floor(next());
    else if (a === "--seconds") o.seconds = next();
    else if (a === "--model-us") o.modelUs = next();
    else throw new Error(`unknown option ${a} (use --json, --requests, --seconds, --model-us)`);
  }
  return o;
}

const children: ChildProcess[] = [];
function startVariant(args: readonly string[]): Promise<string> {
  const bin = fileURLToPath(new URL("../../variant/bin/umbra-variant.mjs", import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, "--reference", "classifier", "--features", "8", "--port", "0", ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`umbra-variant did not start: ${out}`)),
      30_000,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.on("exit", (code) => reject(new Error(`umbra-variant exited with ${code}: ${out}`)));
  });
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const inputs = Array.from({ length: 1_024 }, (_, i) =>
  Float32Array.from({ length: 8 }, (_, j) => Math.cos(i * 8 + j)),
);
let ids = 0;

type Call = (input: Features, requestId: string) => Promise<Answer>;

/** Sequential requests: latency percentiles (µs) and event-loop time per request (µs). */
async function latency(
  call: Call,
  n: number,
): Promise<{ p50: number; p99: number; loopUs: number }> {
  for (let i = 0; i < 500; i++) {
    await tick();
    await call(inputs[i % inputs.length] as Features, `w${ids++}`);
  }
  const samples = new Float64Array(n);
  const elu0 = performance.eventLoopUtilization();
  for (let i = 0; i < n; i++) {
    await tick();
    const t0 = performance.now();
    await call(inputs[i % inputs.length] as Features, `r${ids++}`);
    samples[i] = (performance.now() - t0) * 1_000;
  }
  // Let the hand-offs of the last requests run, so their cost is counted too.
  await tick();
  await tick();
  const elu = performance.eventLoopUtilization(elu0);
  samples.sort();
  return {
    p50: samples[Math.floor(n * 0.5)] ?? 0,
    p99: samples[Math.floor(n * 0.99)] ?? 0,
    loopUs: (elu.active * 1_000) / n,
  };
}

/** Requests/s with `inFlight` requests outstanding for `seconds`. */
async function throughput(call: Call, seconds: number, inFlight = 64): Promise<number> {
  let done = 0;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      await tick();
      await call(inputs[done % inputs.length] as Features, `t${ids++}`);
      done++;
    }
  };
  const warm = Array.from({ length: inFlight }, loop);
  await new Promise((r) => setTimeout(r, 500));
  const start = done;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1_000));
  const rate = ((done - start) * 1_000) / (performance.now() - t0);
  stop = true;
  await Promise.all(warm);
  return rate;
}

export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  calibrate(o.modelUs);
  const log = (s: string) => {
    if (!o.json) console.log(s);
  };
  log(
    `sdk bench: ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}; starting nats-server and 6 umbra-variant processes…`,
  );
  const nats = await startNats();
  const [a, b, c, hang, boom, slow] = await Promise.all([
    startVariant([]),
    startVariant([]),
    startVariant([]),
    startVariant(["--hang-probability", "1"]),
    startVariant(["--error-rate", "1"]),
    startVariant(["--latency-ms", "1", "--slow-factor", "50"]),
  ]);
  const experiments: ExperimentFlagOptions[] = [
    {
      experiment: "all",
      live: "prod",
      revision: 1,
      candidates: ["A", "B", "C"].map((variant) => ({ variant, sampleBasisPoints: 10_000 })),
    },
    {
      experiment: "quarter",
      live: "prod",
      revision: 1,
      candidates: ["A", "B", "C"].map((variant) => ({ variant, sampleBasisPoints: 2_500 })),
    },
    {
      experiment: "faulty",
      live: "prod",
      revision: 1,
      candidates: ["A", "B", "C"].map((variant) => ({ variant, sampleBasisPoints: 10_000 })),
    },
  ];
  const flags = await createFlagFileFixture(
    buildFlagFile(
      Object.fromEntries(experiments.map((e) => [`umbra.${e.experiment}`, buildExperimentFlag(e)])),
    ),
  );
  const watched = await watchFlagFile(flags.path);
  const sync = await serveFlagSync({ source: watched });
  const shadows: Shadow<Features, Answer>[] = [];
  const make = async (
    experiment: string,
    engine: "worker" | "inline",
    addresses: readonly string[],
  ) => {
    const [x, y, z] = addresses as [string, string, string];
    const s = await createShadow<Features, Answer>({
      experiment,
      engine,
      flags: { flagd: { host: "127.0.0.1", port: sync.port } },
      nats: { servers: nats.url },
      defaultVariant: "prod",
      variants: {
        prod: model,
        A: oip(x, "classifier", { transport: "stream" }),
        B: oip(y, "classifier", { transport: "stream" }),
        C: oip(z, "classifier", { transport: "stream" }),
      },
      logger: pino({ level: "silent" }),
    });
    shadows.push(s);
    return s;
  };
  try {
    const direct: Call = async (input) => model(input);
    const via =
      (s: Shadow<Features, Answer>): Call =>
      (input, requestId) =>
        s.run({ requestId, input });
    const healthy = [a, b, c];
    const worker = await make("all", "worker", healthy);
    const inline = await make("all", "inline", healthy);
    const quarter = await make("quarter", "worker", healthy);
    const faulty = await make("faulty", "worker", [hang, boom, slow]);

    log("latency, sequential…");
    const base = await latency(direct, o.requests);
    const w = await latency(via(worker), o.requests);
    const i = await latency(via(inline), o.requests);
    const baseAgain = await latency(direct, o.requests);
    const baseP50 = Math.min(base.p50, baseAgain.p50);
    const baseP99 = Math.min(base.p99, baseAgain.p99);
    const baseLoop = Math.min(base.loopUs, baseAgain.loopUs);

    log("throughput, 64 in flight…");
    const tBase = await throughput(direct, o.seconds);
    const tQuarter = await throughput(via(quarter), o.seconds);
    const tAll = await throughput(via(worker), o.seconds);

    log("faulty vs healthy shadows…");
    const healthyRun = await latency(via(worker), o.requests);
    const faultyRun = await latency(via(faulty), o.requests);
    const healthyAgain = await latency(via(worker), o.requests);
    const healthyP99 = Math.min(healthyRun.p99, healthyAgain.p99);
    const faultyOutcomes = faulty.stats().engine?.outcomes;

    const result = {
      added_p50_us: round(w.p50 - baseP50),
      added_p99_us: round(w.p99 - baseP99),
      added_loop_us: round(w.loopUs - baseLoop),
      inline_added_p50_us: round(i.p50 - baseP50),
      inline_added_p99_us: round(i.p99 - baseP99),
      inline_added_loop_us: round(i.loopUs - baseLoop),
      direct_p50_us: round(baseP50),
      direct_p99_us: round(baseP99),
      throughput_ratio: round(tQuarter / tBase, 3),
      throughput_ratio_100: round(tAll / tBase, 3),
      direct_rps: round(tBase),
      faulty_p99_ratio: round(faultyRun.p99 / healthyP99, 3),
      faulty_p99_us: round(faultyRun.p99),
      healthy_p99_us: round(healthyP99),
      faulty_outcomes: faultyOutcomes,
      model_us: o.modelUs,
      // Keeps the model's arithmetic observable, so it cannot be optimised away.
      model_checksum: round(sink % 1_000, 3),
      load_average: round(loadavg()[0] ?? 0, 1),
    };
    if (o.json) {
      console.log(JSON.stringify(result));
      return;
    }
    const row = (cells: (string | number)[]) => `| ${cells.map(String).join(" | ")} |`;
    log("");
    log(
      row([
        "measure",
        "direct call",
        "SDK worker",
        "SDK inline",
        "added (worker)",
        "added (inline)",
      ]),
    );
    log(row(["---", "---:", "---:", "---:", "---:", "---:"]));
    log(
      row([
        "latency p50 µs",
        round(baseP50),
        round(w.p50),
        round(i.p50),
        result.added_p50_us,
        result.inline_added_p50_us,
      ]),
    );
    log(
      row([
        "latency p99 µs",
        round(baseP99),
        round(w.p99),
        round(i.p99),
        result.added_p99_us,
        result.inline_added_p99_us,
      ]),
    );
    log(
      row([
        "event-loop µs / request",
        round(baseLoop),
        round(w.loopUs),
        round(i.loopUs),
        result.added_loop_us,
        result.inline_added_loop_us,
      ]),
    );
    log("");
    log(row(["throughput (64 in flight)", "requests/s", "ratio to direct"]));
    log(row(["---", "---:", "---:"]));
    log(row(["direct call", round(tBase), "1.000"]));
    log(row(["SDK worker, 3 shadows at 25%", round(tQuarter), result.throughput_ratio]));
    log(row(["SDK worker, 3 shadows at 100%", round(tAll), result.throughput_ratio_100]));
    log("");
    log(row(["production latency with shadows that…", "p50 µs", "p99 µs"]));
    log(row(["---", "---:", "---:"]));
    log(row(["are healthy", round(Math.min(healthyRun.p50, healthyAgain.p50)), round(healthyP99)]));
    log(row(["hang / error / run 50× slower", round(faultyRun.p50), round(faultyRun.p99)]));
    log(row(["ratio faulty / healthy", "", result.faulty_p99_ratio]));
    log("");
    log(`faulty shadows' outcomes: ${JSON.stringify(faultyOutcomes)}`);
    log(JSON.stringify(result));
  } finally {
    await Promise.all(shadows.map((s) => s.close(2_000)));
    await sync.close();
    watched.close();
    await flags.close();
    for (const child of children) child.kill("SIGKILL");
    await nats.stop();
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
