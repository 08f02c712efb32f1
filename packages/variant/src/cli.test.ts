import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliUsageError, loadCliModels, parseCliArgs } from "./cli.ts";

function usage(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(CliUsageError);
    return (e as Error).message;
  }
  throw new Error("expected a usage error");
}

describe("umbra-variant arguments", () => {
  it("turns a reference model and its knobs into a configuration", () => {
    const config = parseCliArgs([
      "--reference",
      "classifier",
      "--port",
      "8001",
      "--name",
      "ranker-b",
      "--latency-ms",
      "2",
      "--jitter-ms",
      "1.5",
      "--error-rate",
      "0.1",
      "--diverge-field",
      "region",
      "--diverge-value",
      "eu",
      "--features",
      "4",
      "--input",
      "json",
      "--side-effect-url",
      "http://127.0.0.1:9/x",
      "--seed",
      "b",
    ]);
    expect(config).toEqual({
      serve: { port: 8001, host: "127.0.0.1", ready: true, guardSideEffects: true },
      name: "ranker-b",
      reference: {
        kind: "classifier",
        options: {
          seed: "b",
          latency: { baseMs: 2, jitterMs: 1.5 },
          errorRate: 0.1,
          divergence: { field: "region", value: "eu" },
          sideEffect: { url: "http://127.0.0.1:9/x" },
          featureCount: 4,
          input: "json",
        },
      },
    });
  });

  it("names the flag and the rule for every bad value", () => {
    expect(usage(["--reference", "classifier", "--port", "abc"])).toBe(
      "option '--port <port>' argument 'abc' is invalid. must be an integer >= 0",
    );
    expect(usage(["--reference", "classifier", "--error-rate", "2"])).toBe(
      "option '--error-rate <p>' argument '2' is invalid. must be a number from 0 to 1",
    );
    expect(usage(["--reference", "regressor"])).toMatch(
      /option '--reference <kind>' argument 'regressor' is invalid/,
    );
    expect(usage(["--reference", "text", "--module", "./m.js"])).toMatch(
      /'--reference <kind>' cannot be used with option '--module <path>'/,
    );
    expect(usage([])).toMatch(/one of --reference .* or --module <path> is required/);
    expect(usage(["--reference", "text", "--diverge-field", "region"])).toBe(
      "--diverge-field and --diverge-value go together",
    );
    expect(usage(["--module", "./m.js", "--latency-ms", "3"])).toBe(
      "--latency-ms applies to --reference models only",
    );
    expect(usage(["--reference", "embedding", "--input", "json"])).toMatch(
      /'--input <mode>' argument 'json' is invalid\. for --reference embedding it must be text or features/,
    );
    expect(usage(["--reference", "text", "--side-effect-url", "nope"])).toMatch(
      /--side-effect-url <url>.*must be an absolute URL/,
    );
    expect(usage(["--reference", "text", "--bogus"])).toMatch(/unknown option '--bogus'/);
  });

  it("loads a module's models, its model, or its default export", async () => {
    const dir = await mkdtemp(join(tmpdir(), "umbra-variant-cli-"));
    try {
      await writeFile(
        join(dir, "many.mjs"),
        "export const models = { a: () => ({ label: 'a' }), b: () => ({ label: 'b' }) };\n",
      );
      await writeFile(
        join(dir, "one.mjs"),
        "export function model() { return { label: 'one' }; }\n",
      );
      await writeFile(
        join(dir, "dflt.mjs"),
        "export default { predict: () => ({ text: 'd' }) };\n",
      );
      await writeFile(join(dir, "none.mjs"), "export const x = 1;\n");
      const load = (module: string, name?: string) =>
        loadCliModels({ serve: {}, module, ...(name === undefined ? {} : { name }) }, dir);
      expect(Object.keys(await load("./many.mjs"))).toEqual(["a", "b"]);
      expect(Object.keys(await load("./one.mjs"))).toEqual(["one"]);
      expect(Object.keys(await load("./dflt.mjs", "named"))).toEqual(["named"]);
      await expect(load("./none.mjs")).rejects.toThrow(
        /--module: .*none\.mjs exports neither `models` nor `model`/,
      );
      await expect(load("./missing.mjs")).rejects.toThrow(/--module: cannot load .*missing\.mjs/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
