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

  it("runs the quick start: two models served, called over the stream as shadow calls", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      await import("../examples/quick-start.ts");
      expect(log).toHaveBeenCalledWith(
        expect.stringMatching(/^ranker: (skip|show); greeter: hello Ada \(shadow\)$/),
      );
      expect(log).toHaveBeenCalledWith("side effects blocked: 0");
    } finally {
      log.mockRestore();
    }
  });
});
