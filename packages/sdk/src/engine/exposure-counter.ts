import type { ExposureRecord } from "@umbra/protocol";

type Entry = ExposureRecord["entries"][number] & {
  requests: number;
  mirrors: Record<string, { planned: number; dispatched: number; dropped: Record<string, number> }>;
};

/** Distinct (plan, segment) entries one window keeps; the rest are merged into an overflow entry. */
const MAX_ENTRIES = 1_000;
const OVERFLOW_SEGMENT = { overflow: "true" };

/**
 * Exposure counts of one experiment for the current window: requests per (plan, segment), and per
 * shadow variant the mirrors planned, admitted (`dispatched`) and refused at admission by reason.
 * Admission is decided synchronously when a mirror is planned, so within every window
 * `dispatched + Σ dropped = planned`; what happens to an admitted mirror later (a queue eviction,
 * a timeout) is on its pair record.
 */
export class ExposureCounter {
  private readonly experiment: string;
  private readonly sdkInstanceId: string;
  private entries = new Map<string, Entry>();
  private windowStartMs: number;
  private seq = 0;

  constructor(experiment: string, sdkInstanceId: string, nowMs: number) {
    this.experiment = experiment;
    this.sdkInstanceId = sdkInstanceId;
    this.windowStartMs = nowMs;
  }

  /** Adds requests seen on the request thread. */
  addRequests(plan: string, segment: Readonly<Record<string, string>>, requests: number): void {
    this.entry(plan, segment).requests += requests;
  }

  /** Records one planned mirror and its admission. */
  addMirror(
    plan: string,
    segment: Readonly<Record<string, string>>,
    variant: string,
    refusedReason: string | undefined,
  ): void {
    const e = this.entry(plan, segment);
    let m = e.mirrors[variant];
    if (m === undefined) {
      m = { planned: 0, dispatched: 0, dropped: {} };
      e.mirrors[variant] = m;
    }
    m.planned++;
    if (refusedReason === undefined) m.dispatched++;
    else m.dropped[refusedReason] = (m.dropped[refusedReason] ?? 0) + 1;
  }

  /** Closes the window: the record to publish (or nothing when the window saw nothing). */
  flush(nowMs: number): ExposureRecord | undefined {
    const entries = [...this.entries.values()];
    const start = this.windowStartMs;
    this.entries = new Map();
    this.windowStartMs = nowMs;
    if (entries.length === 0) return undefined;
    return {
      schema: 1,
      kind: "exposure",
      experiment: this.experiment,
      sdkInstanceId: this.sdkInstanceId,
      seq: ++this.seq,
      windowStartMs: Math.floor(start),
      windowEndMs: Math.max(Math.floor(nowMs), Math.floor(start)),
      entries,
    };
  }

  private entry(plan: string, segment: Readonly<Record<string, string>>): Entry {
    let key = plan;
    for (const k in segment) key += `\u0001${k}\u0002${segment[k]}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      if (this.entries.size >= MAX_ENTRIES) return this.entry("overflow", OVERFLOW_SEGMENT);
      e = { plan, segment: { ...segment }, requests: 0, mirrors: {} };
      this.entries.set(key, e);
    }
    return e;
  }
}
