import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

// The package is pure (no I/O, no clock, no environment, no ambient randomness). Biome refuses
// `node:*` imports here; this test catches the globals Biome cannot see.
const FORBIDDEN = [
  /\bMath\.random\b/,
  /\bDate\.now\b/,
  /\bnew Date\(\s*\)/,
  /\bperformance\.now\b/,
  /\bprocess\./,
  /\bsetTimeout\b|\bsetInterval\b/,
  /\bfetch\(/,
  /from "node:/,
];

async function sources(dir: URL): Promise<URL[]> {
  const out: URL[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...(await sources(new URL(`${entry.name}/`, dir))));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
      out.push(new URL(entry.name, dir));
    }
  }
  return out;
}

describe("package purity", () => {
  it("uses no clock, no ambient randomness, no environment and no I/O in its sources", async () => {
    const offenders: string[] = [];
    for (const file of await sources(new URL("./", import.meta.url))) {
      const text = await readFile(file, "utf8");
      for (const pattern of FORBIDDEN) {
        if (pattern.test(text)) offenders.push(`${file.pathname.split("/src/")[1]}: ${pattern}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
