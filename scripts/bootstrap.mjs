#!/usr/bin/env node
// Idempotent bootstrap behind `npm test`, `npm run demo` and `npm run bench`: installs what is
// missing, says in one line what it cannot install, and is silent when there is nothing to do.
// Plain Node with no dependencies: it runs before node_modules exists.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const needs = new Set(
  process.argv.slice(2).flatMap((a, i, all) => (all[i - 1] === "--need" ? [a] : [])),
);

function fail(message) {
  console.error(`umbra bootstrap: ${message}`);
  process.exit(1);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19))
  fail(`Node >= 20.19 is required, found ${process.versions.node}.`);

// npm ci when node_modules is absent or older than the lockfile.
const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.log("umbra bootstrap: installing dependencies (npm ci)…");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    fail(
      "`npm ci` failed; see the output above. If it says the lock file is out of sync, run `npm install` and then `node scripts/lock-platform-entries.mjs` (this registry lacks other platforms' optional binaries) and commit package-lock.json.",
    );
  }
}

function findOnPath(binary) {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/bin",
  ];
  return dirs.map((d) => join(d, binary)).find((p) => existsSync(p));
}

if (needs.has("nats") && !process.env.UMBRA_NATS_SERVER && !findOnPath("nats-server")) {
  if (process.getuid?.() !== 0)
    fail(
      "nats-server is not installed: run `sudo apt-get install -y nats-server` (or set UMBRA_NATS_SERVER to its path).",
    );
  console.log("umbra bootstrap: installing nats-server (apt-get install -y nats-server)…");
  try {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "nats-server"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } catch {
    fail("`apt-get install -y nats-server` failed; see the output above.");
  }
  if (!findOnPath("nats-server")) fail("nats-server is still not on PATH after apt-get install.");
}
