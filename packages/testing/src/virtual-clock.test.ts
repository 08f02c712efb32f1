import { describe, expect, it } from "vitest";
import { createVirtualClock } from "./virtual-clock.ts";

describe("createVirtualClock", () => {
  it("starts at startMs and moves only when advanced", () => {
    const clock = createVirtualClock({ startMs: 1_000 });
    expect(clock.now()).toBe(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it("fires due timers in order of due time, ties in scheduling order, each at its own time", () => {
    const clock = createVirtualClock({ startMs: 0 });
    const log: string[] = [];
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`b1@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`b2@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`late@${clock.now()}`), 31);

    expect(clock.advance(30)).toBe(4);
    expect(log).toEqual(["a@10", "b1@20", "b2@20", "c@30"]);
    expect(clock.now()).toBe(30);
    expect(clock.pendingTimers).toBe(1);
  });

  it("fires timers scheduled by callbacks when they fall inside the same advance", () => {
    const clock = createVirtualClock();
    const log: number[] = [];
    clock.setTimeout(() => {
      log.push(clock.now());
      clock.setTimeout(() => log.push(clock.now()), 5);
    }, 10);
    clock.advance(20);
    expect(log).toEqual([10, 15]);
  });

  it("never fires a cleared timeout", () => {
    const clock = createVirtualClock();
    let fired = false;
    const timer = clock.setTimeout(() => {
      fired = true;
    }, 10);
    clock.clearTimeout(timer);
    clock.clearTimeout(undefined);
    expect(clock.advance(100)).toBe(0);
    expect(fired).toBe(false);
  });

  it("repeats an interval every period until it is cleared, even from its own callback", () => {
    const clock = createVirtualClock({ startMs: 100 });
    const ticks: number[] = [];
    const interval = clock.setInterval(() => {
      ticks.push(clock.now());
      if (ticks.length === 3) clock.clearInterval(interval);
    }, 50);
    clock.advance(1_000);
    expect(ticks).toEqual([150, 200, 250]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("runs everything with runAll and stops a runaway interval with a clear error", () => {
    const clock = createVirtualClock();
    const log: number[] = [];
    clock.setTimeout(() => log.push(clock.now()), 5_000);
    clock.setTimeout(() => log.push(clock.now()), 10);
    expect(clock.runAll()).toBe(2);
    expect(log).toEqual([10, 5_000]);
    expect(clock.now()).toBe(5_000);

    clock.setInterval(() => undefined, 1);
    expect(() => clock.runAll({ maxTimers: 100 })).toThrow(/after 100 callbacks.*interval/);
  });

  it("jumps to the next timer with runNext and reports when nothing is left", () => {
    const clock = createVirtualClock({ startMs: 0 });
    clock.setTimeout(() => undefined, 42);
    expect(clock.runNext()).toBe(true);
    expect(clock.now()).toBe(42);
    expect(clock.runNext()).toBe(false);
  });

  it("lets promise continuations run between timers with advanceAsync", async () => {
    const clock = createVirtualClock();
    const log: string[] = [];
    const job = async () => {
      await clock.sleep(10);
      log.push(`slept@${clock.now()}`);
      await clock.sleep(10);
      log.push(`slept again@${clock.now()}`);
    };
    const done = job();
    expect(await clock.advanceAsync(25)).toBe(2);
    await done;
    expect(log).toEqual(["slept@10", "slept again@20"]);
    expect(clock.now()).toBe(25);
  });

  it("rejects negative, infinite and zero-period timers naming the field", () => {
    const clock = createVirtualClock();
    expect(() => clock.setTimeout(() => undefined, -1)).toThrow(/delayMs/);
    expect(() => clock.setTimeout(() => undefined, Number.NaN)).toThrow(/delayMs/);
    expect(() => clock.setInterval(() => undefined, 0)).toThrow(
      /periodMs: must be a finite number > 0/,
    );
    expect(() => clock.advance(-5)).toThrow(/ms: must be a finite number >= 0/);
    expect(() => createVirtualClock({ startMs: Number.POSITIVE_INFINITY })).toThrow(/startMs/);
  });
});
