// Issue 6's demo, end to end: `npm run demo -- --ci` (the same entry, without the bootstrap) as
// a child process. It starts its own nats-server, collector, model servers and serving app, sends
// traffic until the collector has promoted A to live, rejected B for latency and C for its mobile
// segment, and exits 0 only then. Every process it started must be gone afterwards.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = fileURLToPath(new URL("../apps/demo/src/main.ts", import.meta.url));
/** The demo's own deadline is 5 minutes; the test gives it one more to stop and report. */
const TEST_TIMEOUT_MS = 6 * 60_000;

function runDemo(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@umbra/source", "--import", "tsx", MAIN, ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      output += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      output += d;
    });
    // If the test runner gives up first, SIGINT lets the demo stop everything it started.
    const guard = setTimeout(() => child.kill("SIGINT"), TEST_TIMEOUT_MS - 30_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm run demo -- --ci", () => {
  it(
    "promotes A to live, rejects B for latency and C for its mobile segment, and leaves nothing running",
    async () => {
      const { code, output } = await runDemo(["--ci"]);
      const context = `demo output:\n${output}`;
      expect(code, context).toBe(0);

      // The three outcomes, each with its reason in words, from the collector's decisions.
      expect(output, context).toMatch(/✓ A promoted through the stages to live: (watch|done) — /);
      expect(output, context).toMatch(
        /✓ B rejected for its p99 latency: rejected — B rejected in shadow: share of latencies above \d+ ms/,
      );
      expect(output, context).toMatch(
        /✓ C rejected for its mobile segment: rejected — C rejected in shadow: divergence rate on device=mobile/,
      );
      // A went through every stage, and the serving app's SDK followed the flag to it.
      for (const stage of ["live-1", "live-5", "live-25", "live-50", "live-100"]) {
        expect(output, context).toContain(`→ ${stage}`);
      }
      expect(output, context).toMatch(
        /✓ all three outcomes in \d+:\d\d; the serving app's last answers came from A 100%/,
      );
      // The side-by-side report and the decision history were printed.
      expect(output, context).toMatch(/divergence bucket/);
      expect(output, context).toMatch(/#\d+\s+A\s+watch → done|#\d+\s+A\s+live-100 → watch/);

      // Every process the demo started has exited.
      expect(output, context).toContain("Stopped; nothing left running.");
      const pids = [...output.matchAll(/ pid (\d+) /g)].map((m) => Number(m[1]));
      expect(pids.length, context).toBe(7); // nats-server, 4 model servers, collector, serving app
      // A negative pid asks about the whole process group: the demo starts each child in its own.
      expect(
        pids.filter((pid) => alive(pid) || alive(-pid)),
        context,
      ).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
