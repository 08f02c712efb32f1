import { UmbraError, UmbraErrorCode } from "@umbra/protocol";

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** The deadline. Default 5 000 ms. */
  readonly timeoutMs?: number;
  /** The pause between two checks. Default 10 ms. */
  readonly intervalMs?: number;
  /** What was awaited, in words; the timeout error starts with it. */
  readonly message?: string;
  /** Stops waiting early (rejects with `cancelled`). */
  readonly signal?: AbortSignal;
}

type Falsy = false | 0 | 0n | "" | null | undefined;

/**
 * Polls `predicate` until it returns (or resolves to) a truthy value, and resolves that value:
 * the standard way an Umbra test waits for something to happen, instead of sleeping. A
 * predicate that throws counts as "not yet"; on timeout the last such error is the cause.
 * Rejects with a `deadline_exceeded` {@link UmbraError} whose message names what was awaited.
 *
 * @example
 * ```ts
 * const record = await waitFor(() => received.find((r) => r.requestId === id), {
 *   timeoutMs: 2_000,
 *   message: `pair record for ${id}`,
 * });
 * ```
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, Falsy>> {
  if (typeof predicate !== "function") throw UmbraError.invalid("predicate", "must be a function");
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 10;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw UmbraError.invalid("timeoutMs", `must be a finite number >= 0 (got ${timeoutMs})`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    throw UmbraError.invalid("intervalMs", `must be a finite number >= 0 (got ${intervalMs})`);
  }
  const what = options.message ?? "condition";
  const deadline = performance.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    if (options.signal?.aborted) {
      throw new UmbraError(UmbraErrorCode.Cancelled, `waitFor: ${what}: aborted`, {
        cause: options.signal.reason,
      });
    }
    attempts += 1;
    try {
      const value = await predicate();
      if (value) return value as Exclude<T, Falsy>;
      lastValue = value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const remainingMs = deadline - performance.now();
    if (remainingMs <= 0) {
      const last =
        lastError === undefined
          ? `last value ${describe(lastValue)}`
          : `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new UmbraError(
        UmbraErrorCode.DeadlineExceeded,
        `waitFor: ${what}: not met within ${timeoutMs} ms (${attempts} checks; ${last})`,
        lastError === undefined ? undefined : { cause: lastError },
      );
    }
    await pause(Math.min(intervalMs, remainingMs), options.signal);
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
