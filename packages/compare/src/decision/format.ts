// Numbers in decision reasons: short, stable across platforms (no locale), and exact enough to
// recompute the decision by hand from the record. Every tick formats dozens of them, so these
// avoid toPrecision and regular expressions.

const POWERS = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];

/** `value` rounded to three significant digits, as the shortest decimal string. */
function significant3(value: number): string {
  const a = Math.abs(value);
  if (a === 0 || !Number.isFinite(a)) return String(value);
  if (a >= 100) return String(Math.round(value));
  const digits = Math.min(12, 2 - Math.floor(Math.log10(a)));
  const scale = POWERS[digits] ?? 1e12;
  return String(Math.round(value * scale) / scale);
}

/** A rate as a percentage with up to three significant digits: 0.01234 → "1.23%". */
export function formatRate(rate: number): string {
  return `${significant3(rate * 100)}%`;
}

/** A signed number with up to three significant digits: −0.0212 → "-0.0212", 0.5 → "+0.5". */
export function formatSigned(value: number): string {
  if (value === 0) return "0";
  const text = significant3(value);
  return value > 0 ? `+${text}` : text;
}

/** A count with thin grouping: 12345 → "12 345". */
export function formatCount(value: number): string {
  const digits = String(Math.round(Math.abs(value)));
  let out = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += " ";
    out += digits[i];
  }
  return value < 0 ? `-${out}` : out;
}

/** A duration in the largest unit that keeps it readable: 90 000 → "1.5 min". */
export function formatDuration(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 86_400_000) return `${significant3(ms / 86_400_000)} d`;
  if (a >= 3_600_000) return `${significant3(ms / 3_600_000)} h`;
  if (a >= 60_000) return `${significant3(ms / 60_000)} min`;
  if (a >= 1_000) return `${significant3(ms / 1_000)} s`;
  return `${Math.round(ms)} ms`;
}

const confidenceTexts = new Map<number, string>();

/** A confidence level from an alpha, with enough digits to show the alpha: 0.003125 → "99.69%". */
export function formatConfidence(alpha: number): string {
  let text = confidenceTexts.get(alpha);
  if (text === undefined) {
    const digits = Math.min(4, Math.max(0, Math.ceil(-Math.log10(alpha * 100)) + 1));
    text = `${((1 - alpha) * 100).toFixed(digits)}%`;
    // Alphas are few per engine (one per scope kind and window); the bound guards misuse.
    if (confidenceTexts.size < 1_000) confidenceTexts.set(alpha, text);
  }
  return text;
}
