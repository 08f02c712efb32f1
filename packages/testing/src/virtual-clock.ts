import { type Clock, UmbraError, UmbraErrorCode } from "@umbra/protocol";

/** A timer scheduled on a {@link VirtualClock}; pass it back to `clearTimeout`/`clearInterval`. */
export interface VirtualTimer {
  /** Unique per clock, increasing in scheduling order. */
  readonly id: number;
}

/**
 * A deterministic {@link Clock} for tests and simulations: time moves only when the test calls
 * `advance`, `runNext` or `runAll`, and timers fire in order of due time, ties in scheduling
 * order. Code under test takes it wherever it would take the system clock and timers.
 */
export interface VirtualClock extends Clock {
  /** The virtual time, milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` once, `delayMs` virtual milliseconds from now. */
  setTimeout(callback: () => void, delayMs: number): VirtualTimer;
  /** Cancels a timeout; unknown or already fired timers are ignored. */
  clearTimeout(timer: VirtualTimer | undefined): void;
  /** Calls `callback` every `periodMs` virtual milliseconds, first at now + `periodMs`. */
  setInterval(callback: () => void, periodMs: number): VirtualTimer;
  /** Cancels an interval; unknown timers are ignored. */
  clearInterval(timer: VirtualTimer | undefined): void;
  /** Resolves after `delayMs` of virtual time (when the test advances past it). */
  sleep(delayMs: number): Promise<void>;
  /** How many timers are scheduled and not yet fired or cleared. */
  readonly pendingTimers: number;
  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, each with `now()`
   * equal to its due time, including timers those callbacks schedule inside the window.
   * Returns how many callbacks ran. A callback that throws stops the advance and rethrows.
   */
  advance(ms: number): number;
  /**
   * Like `advance`, but yields to the event loop after each callback so that promise
   * continuations the callback triggered run (and may schedule timers) before the next one.
   */
  advanceAsync(ms: number): Promise<number>;
  /** Jumps to the next due timer and fires it. Returns false when nothing is scheduled. */
  runNext(): boolean;
  /**
   * Fires timers until none is left, moving time to each due time. Throws `resource_exhausted`
   * after `maxTimers` callbacks (default 10 000), which is what an interval left running causes.
   */
  runAll(options?: { readonly maxTimers?: number }): number;
}

/** Options of {@link createVirtualClock}. */
export interface VirtualClockOptions {
  /** The initial time in milliseconds since the Unix epoch. Default 0. */
  readonly startMs?: number;
}

interface Entry {
  readonly id: number;
  dueMs: number;
  seq: number;
  readonly periodMs: number | undefined;
  readonly callback: () => void;
}

/**
 * Creates a {@link VirtualClock} starting at `startMs`.
 *
 * @example
 * ```ts
 * const clock = createVirtualClock({ startMs: Date.UTC(2026, 0, 1) });
 * const seen: number[] = [];
 * clock.setTimeout(() => seen.push(clock.now()), 500);
 * clock.advance(1_000); // seen = [startMs + 500], clock.now() = startMs + 1000
 * ```
 */
export function createVirtualClock(options: VirtualClockOptions = {}): VirtualClock {
  const startMs = options.startMs ?? 0;
  if (!Number.isFinite(startMs)) {
    throw UmbraError.invalid("startMs", `must be a finite number (got ${startMs})`);
  }
  let nowMs = startMs;
  let nextId = 1;
  let nextSeq = 1;
  // Sorted by (dueMs, seq); tests schedule few timers, so a sorted array beats a heap for clarity.
  const queue: Entry[] = [];

  const insert = (entry: Entry) => {
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = queue[mid] as Entry;
      if (other.dueMs < entry.dueMs || (other.dueMs === entry.dueMs && other.seq < entry.seq)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    queue.splice(lo, 0, entry);
  };

  const schedule = (callback: () => void, delayMs: number, periodMs: number | undefined) => {
    if (typeof callback !== "function") throw UmbraError.invalid("callback", "must be a function");
    const entry: Entry = {
      id: nextId++,
      dueMs: nowMs + delayMs,
      seq: nextSeq++,
      periodMs,
      callback,
    };
    insert(entry);
    return { id: entry.id };
  };

  const cancel = (timer: VirtualTimer | undefined) => {
    if (timer === undefined) return;
    const index = queue.findIndex((e) => e.id === timer.id);
    if (index !== -1) queue.splice(index, 1);
  };

  /** Fires the first timer if it is due by `limitMs`; false otherwise. */
  const fireNext = (limitMs: number): boolean => {
    const entry = queue[0];
    if (entry === undefined || entry.dueMs > limitMs) return false;
    queue.shift();
    nowMs = Math.max(nowMs, entry.dueMs);
    if (entry.periodMs !== undefined) {
      // Rescheduled before the callback runs, so the callback can clear its own interval.
      entry.dueMs += entry.periodMs;
      entry.seq = nextSeq++;
      insert(entry);
    }
    entry.callback();
    return true;
  };

  const checkStep = (ms: number) => {
    if (!Number.isFinite(ms) || ms < 0) {
      throw UmbraError.invalid("ms", `must be a finite number >= 0 (got ${ms})`);
    }
  };

  const clock: VirtualClock = {
    now: () => nowMs,
    setTimeout: (callback, delayMs) => {
      checkDelay("delayMs", delayMs, 0);
      return schedule(callback, delayMs, undefined);
    },
    clearTimeout: cancel,
    setInterval: (callback, periodMs) => {
      checkDelay("periodMs", periodMs, Number.MIN_VALUE);
      return schedule(callback, periodMs, periodMs);
    },
    clearInterval: cancel,
    sleep: (delayMs) =>
      new Promise<void>((resolve) => {
        clock.setTimeout(resolve, delayMs);
      }),
    get pendingTimers() {
      return queue.length;
    },
    advance: (ms) => {
      checkStep(ms);
      const target = nowMs + ms;
      let fired = 0;
      while (fireNext(target)) fired += 1;
      nowMs = target;
      return fired;
    },
    advanceAsync: async (ms) => {
      checkStep(ms);
      const target = nowMs + ms;
      let fired = 0;
      await yieldToEventLoop();
      while (fireNext(target)) {
        fired += 1;
        await yieldToEventLoop();
      }
      nowMs = target;
      return fired;
    },
    runNext: () => {
      const entry = queue[0];
      return entry === undefined ? false : fireNext(entry.dueMs);
    },
    runAll: (runOptions = {}) => {
      const maxTimers = runOptions.maxTimers ?? 10_000;
      let fired = 0;
      while (queue.length > 0) {
        if (fired >= maxTimers) {
          throw new UmbraError(
            UmbraErrorCode.ResourceExhausted,
            `runAll: still ${queue.length} timer(s) pending after ${maxTimers} callbacks; an interval is probably still running`,
          );
        }
        clock.runNext();
        fired += 1;
      }
      return fired;
    },
  };
  return clock;
}

function checkDelay(field: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw UmbraError.invalid(
      field,
      min > 0
        ? `must be a finite number > 0 (got ${value})`
        : `must be a finite number >= 0 (got ${value})`,
    );
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
