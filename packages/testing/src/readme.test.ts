import { readFile } from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";
import { trackedPids } from "./internal/exit-cleanup.ts";

const read = (relative: string) => readFile(new URL(relative, import.meta.url), "utf8");

describe("README", () => {
  it("shows exactly the quick start in examples/quick-start.ts", async () => {
    const readme = await read("../README.md");
    const section = readme.slice(readme.indexOf("## Quick start"));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(await read("../examples/quick-start.ts"));
  });

  it("runs the quick start: a private server, reproducible traffic, and a wait with a deadline", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      await import("../examples/quick-start.ts");
      expect(log).toHaveBeenCalledWith(
        expect.stringMatching(/^received 3 requests, the first is [0-9a-f]{8}-[0-9a-f]{4}-4/),
      );
      // `await using` stopped the server when the quick start's scope ended.
      expect(trackedPids()).toEqual([]);
    } finally {
      log.mockRestore();
    }
  });
});
