import { readFile } from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";

const read = (relative: string) => readFile(new URL(relative, import.meta.url), "utf8");

describe("README", () => {
  it("shows exactly the quick start in examples/quick-start.ts", async () => {
    const readme = await read("../README.md");
    const section = readme.slice(readme.indexOf("## Quick start"));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(await read("../examples/quick-start.ts"));
  });

  it("runs the quick start: the control is safe, A diverges on mobile", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      await import("../examples/quick-start.ts");
      const lines = log.mock.calls.map((c) => String(c[0]));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^control: divergence 0\.0% \[0\.0%, 1\.9%\] safe, shadow p99 2\d\.\d+ ms/,
      );
      expect(lines[1]).toMatch(
        /^A: divergence 10\.0% \[6\.6%, 14\.9%\] edge_cases, .* worst segment device=mobile$/,
      );
    } finally {
      log.mockRestore();
    }
  });
});
