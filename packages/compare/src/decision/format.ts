// Numbers in decision reasons: short, stable across platforms (no locale), and exact enough to
// recompute the decision by hand from the record.

/** A rate as a percentage with up to three significant digits: 0.01234 → "1.23%". */
export function formatRate(rate: number): string {
  if (rate === 0) return "0%";
  if (rate === 1) return "100%";
  const pct = rate * 100;
  return `${Number(pct.toPrecision(3))}%`;
}

/** A signed number with up to three significant digits: −0.0212 → "-0.0212". */
export function formatSigned(value: number): string {
  if (value === 0) return "0";
  const text = String(Number(value.toPrecision(3)));
  return value > 0 ? `+${text}` : text;
}

/** A count with thin grouping: 12345 → "12 345". */
export function formatCount(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** A duration in the largest unit that keeps it readable: 90 000 → "1.5 min". */
export function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1_000, "s"],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(ms) >= size) return `${Number((ms / size).toPrecision(3))} ${unit}`;
  }
  return `${Math.round(ms)} ms`;
}

/** A confidence level from an alpha: 0.003125 → "99.7%". */
export function formatConfidence(alpha: number): string {
  const pct = (1 - alpha) * 100;
  const digits = Math.max(0, Math.ceil(-Math.log10(alpha * 100)) + 1);
  return `${pct.toFixed(Math.min(4, digits))}%`;
}
