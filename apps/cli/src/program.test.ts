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
    for (const command of ["report", "export", "status", "explain", "promote", "rollback"]) {
      expect(t.out()).toContain(command);
    }
  });

  it("names --by and the variant argument when a promotion command's input breaks a rule", async () => {
    const by = io();
    expect(await runCli(["promote", "ranker", "A", "--by", "two words"], by.io)).toBe(2);
    expect(by.err()).toContain("--by <name>");
    const variant = io();
    expect(await runCli(["rollback", "ranker", "A.B"], variant.io)).toBe(2);
    expect(variant.err()).toContain("variant");
    const limit = io();
    expect(await runCli(["explain", "ranker", "--limit", "0"], limit.io)).toBe(2);
    expect(limit.err()).toContain("--limit <n>");
  });
});
