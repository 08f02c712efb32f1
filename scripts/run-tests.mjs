#!/usr/bin/env node
// `npm test`: lint, typecheck and every vitest project, then one closing line that counts them all.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const run = (cmd, args) =>
  spawnSync(cmd, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  }).status ?? 1;

const workspaces = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces;
const dirs = workspaces.flatMap((w) => {
  if (!w.endsWith("/*")) return [join(root, w)];
  const parent = join(root, w.slice(0, -2));
  return existsSync(parent) ? readdir(parent) : [];
});
function readdir(parent) {
  return spawnSync("ls", [parent], { encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean)
    .map((d) => join(parent, d));
}
for (const d of dirs) rmSync(join(d, ".test-results.json"), { force: true });

const lint = run(bin("biome"), ["check", "."]);
const tasks = run(bin("turbo"), [
  "run",
  "typecheck",
  "test",
  "--concurrency=2",
  "--output-logs=new-only",
  "--continue",
]);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const d of dirs) {
  const file = join(d, ".test-results.json");
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, "utf8"));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
if (lint !== 0) console.error("lint failed (biome check .)");
if (tasks !== 0) console.error("typecheck or tests failed (see turbo output above)");
console.log(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(lint !== 0 || tasks !== 0 || failed > 0 ? 1 : 0);
