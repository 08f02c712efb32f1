#!/usr/bin/env node
// Restores package-lock.json entries for optional platform binaries (other operating systems and
// CPUs) that this workplace's npm registry does not carry. npm leaves them out of the lock when it
// cannot resolve them, and `npm ci` then refuses the lock as out of sync. An entry with its
// os/cpu/libc constraints lets `npm ci` skip the package on this machine without fetching it,
// and fetch it where it applies. Run after `npm install` changes the lock: `node scripts/lock-platform-entries.mjs`.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const path = join(dirname(fileURLToPath(import.meta.url)), "..", "package-lock.json");
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

/** os, cpu and libc of a platform package, from its name. */
function platformOf(name) {
  const m = /(android|darwin|linux|win32|windows|freebsd)-(arm64|x64|64|arm|ia32)(-musl)?$/.exec(
    name,
  );
  if (m === null) return undefined;
  const os = m[1] === "windows" ? "win32" : m[1];
  const cpu = m[2] === "64" ? "x64" : m[2];
  return { os: [os], cpu: [cpu], ...(m[3] ? { libc: ["musl"] } : {}) };
}

let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${key}/node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (packages[nested] !== undefined || packages[hoisted] !== undefined) continue;
    const platform = platformOf(dep);
    if (platform === undefined) {
      console.error(
        `lock-platform-entries: ${dep} (optional dependency of ${key}) is missing and is not a platform package; run npm install`,
      );
      process.exitCode = 1;
      continue;
    }
    packages[hoisted] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) =>
    a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0,
  ),
);
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platform-entries: ${added} entries added`);
