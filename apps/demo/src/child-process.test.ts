import { waitFor } from "@umbra/testing";
import { describe, expect, it } from "vitest";
import { runningChildren, startChild } from "./child-process.ts";

const env = { PATH: process.env.PATH ?? "" };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
const node = (script: string) => ({ command: process.execPath, args: ["-e", script], env });
const readyPort = (out: string) => /ready on (\d+)/.exec(out)?.[1];

describe("startChild", () => {
  it("resolves what the ready line says, keeps the output, and stops the child with SIGTERM", async () => {
    const child = await startChild({
      name: "server",
      ...node(
        "console.log('booting'); console.error('ready on 4321'); setInterval(() => {}, 1000);",
      ),
      ready: readyPort,
    });
    expect(child.value).toBe("4321");
    expect(child.output()).toContain("booting");
    expect(child.running()).toBe(true);
    expect(runningChildren()).toContain(child.pid);
    const exit = await child.stop();
    expect(exit).toEqual({ code: null, signal: "SIGTERM", killed: false });
    expect(child.running()).toBe(false);
    expect(runningChildren()).not.toContain(child.pid);
  });

  it("kills a child that ignores SIGTERM once the stop timeout has passed", async () => {
    const child = await startChild({
      name: "stubborn",
      ...node(
        "process.on('SIGTERM', () => {}); console.log('ready on 1'); setInterval(() => {}, 1000);",
      ),
      ready: readyPort,
      stopTimeoutMs: 200,
    });
    expect(await child.stop()).toEqual({ code: null, signal: "SIGKILL", killed: true });
  });

  it("stops what the child started too: its whole process group", async () => {
    const child = await startChild({
      name: "wrapper",
      ...node(
        "const { spawn } = require('node:child_process');" +
          "const g = spawn(process.execPath, ['-e', 'process.on(\"SIGTERM\", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });" +
          "console.log('grandchild ' + g.pid + ' ready on 9'); setInterval(() => {}, 1000);",
      ),
      ready: readyPort,
      stopTimeoutMs: 500,
    });
    const grandchild = Number(/grandchild (\d+)/.exec(child.output())?.[1]);
    expect(isAlive(grandchild)).toBe(true);
    await child.stop();
    await waitFor(() => !isAlive(grandchild), { message: `grandchild ${grandchild} gone` });
  });

  it("rejects with the child's last output when it exits before it is ready", async () => {
    await expect(
      startChild({
        name: "crasher",
        ...node("console.error('cannot bind port'); process.exit(3);"),
        ready: readyPort,
      }),
    ).rejects.toThrow(
      /crasher exited \(exit code 3\) before it was ready; its last output:\ncannot bind port/,
    );
  });

  it("kills a child that is not ready in time and rejects with deadline_exceeded", async () => {
    const before = runningChildren().length;
    await expect(
      startChild({
        name: "sleeper",
        ...node("setInterval(() => {}, 1000);"),
        ready: readyPort,
        readyTimeoutMs: 300,
      }),
    ).rejects.toMatchObject({ code: "deadline_exceeded" });
    expect(runningChildren()).toHaveLength(before);
  });

  it("keeps only the tail of a long output and counts what it dropped", async () => {
    const child = await startChild({
      name: "chatty",
      ...node(
        "process.stdout.write('x'.repeat(5000) + '\\nready on 7\\n'); setInterval(() => {}, 1000);",
      ),
      ready: readyPort,
      maxOutputChars: 100,
    });
    expect(child.output().length).toBeLessThanOrEqual(100);
    expect(child.output()).toContain("ready on 7");
    expect(child.droppedOutputChars()).toBeGreaterThan(4_900);
    await child.stop();
  });
});
