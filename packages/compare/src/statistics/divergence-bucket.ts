import { UmbraError } from "@umbra/protocol";

/**
 * The four divergence buckets of shadow analysis: below 1% safe to roll out; 1–5% investigate
 * the disagreement patterns; 5–10% identify the edge cases; above 10% do not roll out.
 */
export const DivergenceBucket = {
  safe: "safe",
  investigate: "investigate",
  edgeCases: "edge_cases",
  doNotRollOut: "do_not_roll_out",
} as const;

/** One of the {@link DivergenceBucket} values. */
export type DivergenceBucket = (typeof DivergenceBucket)[keyof typeof DivergenceBucket];

/**
 * The bucket of a divergence rate in [0, 1]. Boundaries: each bucket includes its lower end —
 * exactly 1% is `investigate`, exactly 5% is `edge_cases` — except the last, which starts
 * strictly above 10%: exactly 10% is still `edge_cases` (">10% do not roll out").
 */
export function divergenceBucket(rate: number): DivergenceBucket {
  if (!(rate >= 0 && rate <= 1)) throw UmbraError.invalid("rate", "must be in [0, 1]");
  if (rate < 0.01) return DivergenceBucket.safe;
  if (rate < 0.05) return DivergenceBucket.investigate;
  if (rate <= 0.1) return DivergenceBucket.edgeCases;
  return DivergenceBucket.doNotRollOut;
}
