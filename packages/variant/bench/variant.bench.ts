// `npm run bench -- variant [--json] [--rounds N] [--sequential N] [--concurrent N] [--in-flight N]`
//
// Unary `ModelInfer` vs the `umbra.v1.Mirror` stream, one run, same server: a reference
// classifier served by `umbra-variant` in its own process (the bin, as users run it). The
// caller's side is measured here: round-trip latency p50/p99, calls/s, and caller CPU per call
// (process.cpuUsage delta / calls), sequentially and with N calls in flight. Rounds interleave the
// two transports so drift on a shared machine hits both; the medians over rounds are reported,
// with ratios stream/unary — compare ratios, not absolutes.
import { type ChildProcess, spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createOipClient, type EncodedInput, encodeModelInput, type OipClient } from "@umbra/proto";

interface Options {
  json: boolean;
  rounds: number;
  sequential: number;
  concurrent: number;
  inFlight: number;
}

function parse(args: string[]): Options {
  const o: Options = {
    json: false,
    rounds: 3,
    sequential: 2_000,
    concurrent: 10_000,
    inFlight: 64,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v <= 0)
        throw new Error(`${a}: must be a positive integer (got ${args[i]})`);
      return v;
    };
    if (a === "--json") o.json = true;
    else if (a === "--rounds") o.rounds = next();
    else if (a === "--sequential") o.sequential = next();
    else if (a === "--concurrent") o.concurrent = next();
    else if (a === "--in-flight") o.inFlight = next();
    else
      throw new Error(
        `unknown option ${a} (use --json, --rounds, --sequential, --concurrent, --in-flight)`,
      );
  }
  return o;
}

/** One measured phase. */
interface Phase {
  p50Us: number;
  p99Us: number;
  callsPerSecond: number;
  cpuUsPerCall: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function measure(
  client: OipClient,
  input: EncodedInput,
  calls: number,
  inFlight: number,
): Promise<Phase> {
  const latencies = new Float64Array(calls);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const start = performance.now();
      await client.inferEncoded(input, { deadlineMs: 10_000 });
      latencies[i] = (performance.now() - start) * 1000;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort();
  return {
    p50Us: percentile(latencies, 0.5),
    p99Us: percentile(latencies, 0.99),
    callsPerSecond: calls / (wallMs / 1000),
    cpuUsPerCall: (cpu.user + cpu.system) / calls,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function medianPhase(phases: Phase[]): Phase {
  return {
    p50Us: median(phases.map((p) => p.p50Us)),
    p99Us: median(phases.map((p) => p.p99Us)),
    callsPerSecond: median(phases.map((p) => p.callsPerSecond)),
    cpuUsPerCall: median(phases.map((p) => p.cpuUsPerCall)),
  };
}

/** Starts `umbra-variant --reference classifier` and resolves its address once it prints it. */
function startVariant(): Promise<{ child: ChildProcess; address: string }> {
  const bin = fileURLToPath(new URL("../bin/umbra-variant.mjs", import.meta.url));
  const child = spawn(process.execPath, [bin, "--reference", "classifier", "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`umbra-variant did not start within 30 s: ${out}`));
    }, 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, address: m[1] as string });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`umbra-variant exited with ${code}: ${out}`));
    });
  });
}

async function stopVariant(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs the benchmark; prints a table, or one JSON object with `--json`. */
export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  const log = o.json ? () => undefined : (s: string) => console.log(s);
  const loadBefore = loadavg()[0] ?? 0;
  const { child, address } = await startVariant();
  const clients = {
    unary: createOipClient({ address, model: "classifier", transport: "unary" }),
    stream: createOipClient({ address, model: "classifier", transport: "stream" }),
  };
  const input = encodeModelInput(new Float32Array([0.3, -1.2, 0.8, 0.05, 2.1, -0.4, 0.9, -0.7]));
  const phases = {
    unary: { sequential: [] as Phase[], concurrent: [] as Phase[] },
    stream: { sequential: [] as Phase[], concurrent: [] as Phase[] },
  };
  try {
    log(
      `variant benchmark: reference classifier in a child process at ${address}; ${o.rounds} rounds`,
    );
    for (const c of Object.values(clients)) await measure(c, input, 1_000, 8);
    for (let round = 0; round < o.rounds; round++) {
      const order =
        round % 2 === 0 ? (["unary", "stream"] as const) : (["stream", "unary"] as const);
      for (const t of order)
        phases[t].sequential.push(await measure(clients[t], input, o.sequential, 1));
      for (const t of order)
        phases[t].concurrent.push(await measure(clients[t], input, o.concurrent, o.inFlight));
      log(`  round ${round + 1}/${o.rounds} done`);
    }
  } finally {
    await clients.unary.close();
    await clients.stream.close();
    await stopVariant(child);
  }
  const result = {
    unary: {
      sequential: medianPhase(phases.unary.sequential),
      concurrent: medianPhase(phases.unary.concurrent),
    },
    stream: {
      sequential: medianPhase(phases.stream.sequential),
      concurrent: medianPhase(phases.stream.concurrent),
    },
  };
  const ratio = (mode: "sequential" | "concurrent") => ({
    p50: result.stream[mode].p50Us / result.unary[mode].p50Us,
    p99: result.stream[mode].p99Us / result.unary[mode].p99Us,
    callsPerSecond: result.stream[mode].callsPerSecond / result.unary[mode].callsPerSecond,
    cpuPerCall: result.stream[mode].cpuUsPerCall / result.unary[mode].cpuUsPerCall,
  });
  const ratios = { sequential: ratio("sequential"), concurrent: ratio("concurrent") };
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
  };
  if (o.json) {
    console.log(
      JSON.stringify({
        suite: "variant",
        machine,
        config: {
          rounds: o.rounds,
          sequentialCalls: o.sequential,
          concurrentCalls: o.concurrent,
          inFlight: o.inFlight,
          payload: "FP32[1,8] raw, reference classifier",
        },
        results: result,
        ratios,
      }),
    );
    return;
  }
  const rows: string[] = [];
  for (const [mode, label] of [
    ["sequential", "sequential"],
    ["concurrent", `${o.inFlight} in flight`],
  ] as const) {
    for (const t of ["unary", "stream"] as const) {
      const p = result[t][mode];
      rows.push(
        `| ${t} | ${label} | ${fmt(p.p50Us)} | ${fmt(p.p99Us)} | ${fmt(p.callsPerSecond)} | ${fmt(p.cpuUsPerCall, 1)} |`,
      );
    }
    const r = ratios[mode];
    rows.push(
      `| **stream / unary** | ${label} | **${fmt(r.p50, 2)}×** | **${fmt(r.p99, 2)}×** | **${fmt(r.callsPerSecond, 2)}×** | **${fmt(r.cpuPerCall, 2)}×** |`,
    );
  }
  console.log(
    [
      "",
      `Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, load ${fmt(machine.loadAverage1m.before, 2)} → ${fmt(machine.loadAverage1m.after, 2)}`,
      `medians of ${o.rounds} rounds; ${o.sequential} sequential calls and ${o.concurrent} calls at ${o.inFlight} in flight per round and transport`,
      "",
      "| transport | mode | p50 µs | p99 µs | calls/s | caller CPU µs/call |",
      "|---|---|---|---|---|---|",
      ...rows,
    ].join("\n"),
  );
}
