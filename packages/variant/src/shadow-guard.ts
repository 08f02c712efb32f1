import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { UmbraError } from "@umbra/protocol";

/** The shadow state of one request, visible to all the async work the request starts. */
interface ShadowScope {
  readonly requestId: string;
  attempts: number;
}

const storage = new AsyncLocalStorage<ShadowScope>();

/** Whether the code calling it runs on behalf of a mirrored (shadow) request. */
export function isShadow(): boolean {
  return storage.getStore() !== undefined;
}

/** The request id of the shadow request the calling code runs for, if any. */
export function shadowRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** What {@link runAsShadow} resolves to. */
export interface ShadowRun<T> {
  readonly value: T;
  /** Outbound side effects the guard blocked while `fn` ran (0 when the guard is not installed). */
  readonly sideEffectAttempts: number;
}

/**
 * Runs `fn` as a shadow request: `isShadow()` is true inside it and in everything it starts, and
 * an installed guard blocks and counts its outbound side effects. The variant server runs every
 * request marked `x-umbra-shadow: 1` this way; tests of model code can too.
 *
 * @example
 * ```ts
 * const uninstall = guardSideEffects();
 * const { sideEffectAttempts } = await runAsShadow(() => model(input, ctx), { requestId: "r1" });
 * uninstall();
 * ```
 */
export async function runAsShadow<T>(
  fn: () => T | Promise<T>,
  options: { readonly requestId?: string } = {},
): Promise<ShadowRun<T>> {
  const scope: ShadowScope = { requestId: options.requestId ?? "", attempts: 0 };
  const value = await storage.run(scope, fn);
  return { value, sideEffectAttempts: scope.attempts };
}

/** Runs `fn` in a shadow scope and hands back the scope, so the caller can read its count later. */
export function startShadowRun<T>(
  requestId: string,
  fn: () => T,
): { readonly result: T; readonly attempts: () => number } {
  const scope: ShadowScope = { requestId, attempts: 0 };
  const result = storage.run(scope, fn);
  return { result, attempts: () => scope.attempts };
}

let blockedTotal = 0;

/** Process-wide counters of the guard. */
export function guardStats(): { readonly installed: boolean; readonly blocked: number } {
  return { installed: installs > 0, blocked: blockedTotal };
}

function blocked(scope: ShadowScope, what: string): UmbraError {
  scope.attempts++;
  blockedTotal++;
  return new UmbraError(
    "unavailable",
    `shadow guard: ${what} blocked in shadow request ${JSON.stringify(scope.requestId)}; mirrored requests must not cause side effects`,
  );
}

function target(arg: unknown): string {
  if (typeof arg === "string") return arg;
  // net.connect hands Socket#connect its normalised arguments: [options, callback].
  if (Array.isArray(arg)) return target(arg[0]);
  if (arg instanceof URL) return arg.href;
  if (typeof arg === "object" && arg !== null) {
    const o = arg as {
      href?: unknown;
      url?: unknown;
      host?: unknown;
      hostname?: unknown;
      port?: unknown;
      path?: unknown;
    };
    if (typeof o.href === "string") return o.href;
    if (typeof o.url === "string") return o.url;
    const host = o.hostname ?? o.host ?? o.path;
    if (host !== undefined)
      return `${String(host)}${o.port === undefined ? "" : `:${String(o.port)}`}`;
  }
  return "?";
}

type Patch = () => () => void;
// The built-ins patched here have many overloads; the wrappers only pass arguments through.
type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces `obj[key]` by `make(original)`; the returned function puts the original back if ours is still there. */
function replace<O extends object>(
  obj: O,
  key: string,
  make: (original: AnyFunction) => AnyFunction,
): () => void {
  const record = obj as Record<string, unknown>;
  const original = record[key];
  if (typeof original !== "function") return () => undefined;
  const wrapper = make(original as AnyFunction);
  record[key] = wrapper;
  return () => {
    if (record[key] === wrapper) record[key] = original;
  };
}

/** Blocks a callback- or value-returning function: throws synchronously in shadow. */
function blockSync(what: string, describe: (args: unknown[]) => string) {
  return (original: AnyFunction) =>
    function guarded(this: unknown, ...args: unknown[]) {
      const scope = storage.getStore();
      if (scope !== undefined) throw blocked(scope, `${what}(${describe(args)})`);
      return original.apply(this, args);
    };
}

/** Blocks a promise-returning function: rejects in shadow. */
function blockAsync(what: string, describe: (args: unknown[]) => string) {
  return (original: AnyFunction) =>
    function guarded(this: unknown, ...args: unknown[]) {
      const scope = storage.getStore();
      if (scope !== undefined) return Promise.reject(blocked(scope, `${what}(${describe(args)})`));
      return original.apply(this, args);
    };
}

const first = (args: unknown[]) => target(args[0]);
const DNS_METHODS = [
  "lookup",
  "lookupService",
  "resolve",
  "resolve4",
  "resolve6",
  "resolveAny",
  "resolveCaa",
  "resolveCname",
  "resolveMx",
  "resolveNaptr",
  "resolveNs",
  "resolvePtr",
  "resolveSoa",
  "resolveSrv",
  "resolveTxt",
  "reverse",
] as const;

// CommonJS views of the built-ins: their properties are what both `require` and (after
// syncBuiltinESMExports) ESM named imports see.
const require = createRequire(import.meta.url);

const patches: Patch[] = [
  () => {
    const g = globalThis as { fetch?: unknown };
    return replace(g, "fetch", blockAsync("fetch", first));
  },
  () => {
    const undo: (() => void)[] = [];
    for (const name of ["node:http", "node:https"]) {
      const mod = require(name) as object;
      undo.push(replace(mod, "request", blockSync(`${name.slice(5)}.request`, first)));
      undo.push(replace(mod, "get", blockSync(`${name.slice(5)}.get`, first)));
    }
    const http2 = require("node:http2") as object;
    undo.push(replace(http2, "connect", blockSync("http2.connect", first)));
    return () => {
      for (const u of undo) u();
    };
  },
  () => {
    // Every TCP, TLS and IPC client socket connects through here (net.connect,
    // net.createConnection, tls.connect, http agents). Server-accepted sockets never do, so
    // grpc-js's own server connections are untouched; its client connections are made in the
    // context of whoever starts them, which is never a shadow scope in the variant server.
    const net = require("node:net") as { Socket: { prototype: object } };
    return replace(
      net.Socket.prototype,
      "connect",
      blockSync("net.Socket.connect", (args) => target(args[0])),
    );
  },
  () => {
    const undo: (() => void)[] = [];
    const dns = require("node:dns") as {
      promises: object & { Resolver: { prototype: object } };
      Resolver: { prototype: object };
    };
    for (const m of DNS_METHODS) {
      undo.push(replace(dns, m, blockSync(`dns.${m}`, first)));
      undo.push(replace(dns.Resolver.prototype, m, blockSync(`dns.Resolver.${m}`, first)));
      undo.push(replace(dns.promises, m, blockAsync(`dns.promises.${m}`, first)));
      undo.push(
        replace(
          dns.promises.Resolver.prototype,
          m,
          blockAsync(`dns.promises.Resolver.${m}`, first),
        ),
      );
    }
    return () => {
      for (const u of undo) u();
    };
  },
];

let installs = 0;
let restore: (() => void) | undefined;

/**
 * Installs the shadow guard for this process and returns its uninstall function. While
 * installed, code running for a shadow request (see {@link runAsShadow}; the variant server does
 * this for every call marked `x-umbra-shadow: 1`) cannot reach the network: `fetch`,
 * `http(s).request`/`get`, `http2.connect`, new TCP/TLS/IPC connections (`net.Socket#connect`,
 * hence `net.connect`, `net.createConnection`, `tls.connect`) and every `dns` lookup and resolve
 * (callback, promise and `Resolver` forms) throw, or reject, an `unavailable` UmbraError and
 * count one attempt for the request. Production requests are never blocked.
 *
 * Idempotent: installs nest, and the built-ins are restored when the last uninstall runs.
 * Limits: a connection opened earlier outside the shadow scope (a pooled keep-alive socket, an
 * open database or gRPC channel) is not seen — such clients should check {@link isShadow}.
 */
export function guardSideEffects(): () => void {
  installs++;
  if (installs === 1) {
    const undo = patches.map((p) => p());
    syncBuiltinESMExports();
    restore = () => {
      for (const u of undo.reverse()) u();
      syncBuiltinESMExports();
    };
  }
  let uninstalled = false;
  return () => {
    if (uninstalled) return;
    uninstalled = true;
    installs--;
    if (installs === 0) {
      restore?.();
      restore = undefined;
    }
  };
}
