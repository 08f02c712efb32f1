import { describe, expect, it } from "vitest";
import { runCli } from "./program.ts";

function io() {
  let out = "";
  let err = "";
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env: {},
    },
    out: () => out,
    err: () => err,
  };
}

describe("runCli", () => {
  it("names the flag and the rule of a bad --url, with exit code 2", async () => {
    const t = io();
    expect(await runCli(["report", "ranker", "--url", "nats://x:1"], t.io)).toBe(2);
    expect(t.err()).toContain("--url <url>");
    expect(t.err()).toContain("must be an http:// or https:// URL");
  });

  it("names the argument of a bad experiment name", async () => {
    const t = io();
    expect(await runCli(["examples", "ranker", "a.b"], t.io)).toBe(2);
    expect(t.err()).toContain("variant");
  });

  it("names --segment when it is not attribute:value", async () => {
    const t = io();
    expect(await runCli(["export", "ranker", "--segment", "mobile"], t.io)).toBe(2);
    expect(t.err()).toContain("--segment <attribute:value>");
  });

  it("says which URL it could not reach, with exit code 3", async () => {
    const t = io();
    // Port 1 on loopback refuses connections at once.
    expect(await runCli(["report", "ranker", "--url", "http://127.0.0.1:1"], t.io)).toBe(3);
    expect(t.err()).toContain("cannot reach the collector at http://127.0.0.1:1");
  });

  it("prints help and exits 0", async () => {
    const t = io();
    expect(await runCli(["--help"], t.io)).toBe(0);
    expect(t.out()).toContain("report");
    expect(t.out()).toContain("export");
  });
});
