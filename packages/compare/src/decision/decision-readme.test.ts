import { readFile } from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";

const read = (relative: string) => readFile(new URL(relative, import.meta.url), "utf8");

describe("README, decision engine section", () => {
  it("shows exactly the example in decision-engine.example.ts", async () => {
    const readme = await read("../../README.md");
    const section = readme.slice(readme.indexOf("## Decision engine"));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(await read("./decision-engine.example.ts"));
  });

  it("runs the example: A passes every criterion and goes live at 1%", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      await import("./decision-engine.example.ts");
      const lines = log.mock.calls.map((c) => c.map(String).join(" "));
      expect(lines).toEqual([
        "promote [object Object]",
        "2026-03-01 10:21:00Z  #1  A  shadow → live-1  promote  by collector",
      ]);
      expect(log.mock.calls[0]?.[1]).toEqual({ variant: "A", basisPoints: 100 });
    } finally {
      log.mockRestore();
    }
  });
});
