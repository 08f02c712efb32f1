import { MultiBar, Presets, type SingleBar } from "cli-progress";
import {
  type DemoSnapshot,
  focusReason,
  formatElapsed,
  PROMOTION_PATH,
  promotionStep,
  statusLine,
  trafficLine,
} from "./status-line.ts";

/** Where the demo writes: its output stream, and whether it is a terminal. */
export interface DemoIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
}

/** Cuts a line to `width` characters, so a redrawn status never wraps. */
export function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** How the demo shows what happens: lines that stay, and a status that updates. */
export interface DemoView {
  /** A line that stays (a step, a decision). */
  line(text: string): void;
  /** The live status; the view decides how often it is shown. */
  status(snapshot: DemoSnapshot): void;
  /** Ends the live part (the progress bars); later lines print plainly. */
  stop(): void;
}

/**
 * The interactive view: a progress bar of A's way through the stages with the live status
 * beneath it (cli-progress), lines printed above the bars.
 */
export function createProgressView(io: DemoIo): DemoView {
  const multibar = new MultiBar(
    {
      stream: io.stdout,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 28,
      fps: 5,
      // Two of the three "bars" are text lines whose value never moves: redraw them anyway.
      forceRedraw: true,
      autopadding: true,
    },
    Presets.shades_classic,
  );
  let bars:
    | { rollout: SingleBar; traffic: SingleBar; flag: SingleBar; status: SingleBar; why: SingleBar }
    | undefined;
  const ensureBars = () => {
    const text = (label: string) =>
      multibar.create(1, 0, { text: "" }, { format: ` ${label.padEnd(9)} {text}` });
    bars ??= {
      rollout: multibar.create(
        PROMOTION_PATH.length - 1,
        0,
        { text: "waiting for traffic" },
        { format: " promotion {bar} {text}" },
      ),
      traffic: text("traffic"),
      flag: text("flag"),
      status: text("status"),
      why: text("why"),
    };
    return bars;
  };
  let stopped = false;
  return {
    line(text) {
      if (stopped || bars === undefined) io.stdout.write(`${text}\n`);
      else multibar.log(`${text}\n`);
    },
    status(s) {
      if (stopped) return;
      const b = ensureBars();
      // Wrapped lines would break cli-progress's redraw (it moves the cursor up by line count).
      const width = Math.max(20, (io.stdout.columns ?? 120) - 12);
      const a = s.outcome.candidates[0].standing;
      const step = promotionStep(a.stage);
      const where =
        a.stage === "shadow"
          ? "A in shadow: gathering evidence"
          : a.stage === "done"
            ? "A done: A is the live variant"
            : `A ${a.stage}`;
      b.rollout.update(step, {
        text: fit(`${where} (${step}/${PROMOTION_PATH.length - 1})`, width - 30),
      });
      b.traffic.update(0, {
        text: fit(`${formatElapsed(s.elapsedMs)} · ${trafficLine(s)}`, width),
      });
      b.flag.update(0, { text: fit(s.summary ?? "", width) });
      b.status.update(0, { text: fit(statusLine(s), width) });
      b.why.update(0, { text: fit(focusReason(s), width) });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (bars !== undefined) multibar.stop();
    },
  };
}

/** The non-interactive view (`--ci`, or output that is not a terminal): timestamped lines, a status every 10 s. */
export function createLogView(
  io: DemoIo,
  options: { readonly statusEveryMs?: number } = {},
): DemoView {
  const every = options.statusEveryMs ?? 10_000;
  let lastStatusMs = -Infinity;
  let lastStatus = "";
  return {
    line(text) {
      io.stdout.write(`${text}\n`);
    },
    status(s) {
      const text = statusLine(s);
      // A change of state shows at once; otherwise one line every `every` ms is enough for a log.
      if (text === lastStatus && s.elapsedMs - lastStatusMs < every) return;
      lastStatus = text;
      lastStatusMs = s.elapsedMs;
      const stamp = `[${formatElapsed(s.elapsedMs)}]`;
      const lines = [`${stamp} traffic ${trafficLine(s)}`, `${stamp} status  ${text}`];
      if (s.summary !== undefined) lines.push(`${stamp} flag    ${s.summary}`);
      io.stdout.write(`${lines.join("\n")}\n`);
    },
    stop() {},
  };
}
