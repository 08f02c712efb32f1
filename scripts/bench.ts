// `npm run bench -- <suite> [--json] [suite options]`: runs one benchmark suite in this process.
// Each suite measures its own baseline in the same run and prints ratios against it.
const suites: Record<string, string> = {
  variant: "../packages/variant/bench/variant.bench.ts",
  sdk: "../packages/sdk/bench/sdk.bench.ts",
  collector: "../apps/collector/bench/collector.bench.ts",
};

const [name, ...args] = process.argv.slice(2);
const path = name === undefined ? undefined : suites[name];
if (path === undefined) {
  console.error(`usage: npm run bench -- <${Object.keys(suites).join("|")}> [--json]`);
  process.exit(2);
}
const suite: { run(args: string[]): Promise<void> } = await import(
  new URL(path, import.meta.url).href
);
await suite.run(args);
