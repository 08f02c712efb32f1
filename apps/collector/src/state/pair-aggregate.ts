import type { ExposureRecord, PairRecord } from "@umbra/protocol";
import type { RegisteredSpec } from "../specs/spec-registry.ts";

interface VariantCounts {
  pairs: number;
  outcomes: Record<string, number>;
}

/**
 * The compared-pair aggregate of one experiment (interim: counts per variant and outcome until
 * the `@umbra/compare` aggregate is wired in).
 */
export class PairAggregate {
  readonly #experiment: string;
  readonly #variants: Record<string, VariantCounts>;

  private constructor(experiment: string, variants: Record<string, VariantCounts>) {
    this.#experiment = experiment;
    this.#variants = variants;
  }

  /** An empty aggregate. */
  static create(experiment: string): PairAggregate {
    return new PairAggregate(experiment, {});
  }

  /** Restores an aggregate written by {@link PairAggregate.toJSON}. */
  static fromJSON(experiment: string, json: unknown): PairAggregate {
    return new PairAggregate(
      experiment,
      (json as { variants: Record<string, VariantCounts> }).variants,
    );
  }

  /** The experiment. */
  get experiment(): string {
    return this.#experiment;
  }

  /** The shadow variants seen, sorted. */
  variants(): string[] {
    return Object.keys(this.#variants).sort();
  }

  /** Adds one pair. */
  addPair(record: PairRecord, _spec: RegisteredSpec | undefined): void {
    const v = this.#variants[record.variant] ?? { pairs: 0, outcomes: {} };
    this.#variants[record.variant] = v;
    v.pairs += 1;
    v.outcomes[record.shadow.outcome] = (v.outcomes[record.shadow.outcome] ?? 0) + 1;
  }

  /** Adds one exposure window. */
  addExposure(_record: ExposureRecord): void {}

  /** Serialisable form. */
  toJSON(): unknown {
    return { variants: this.#variants };
  }
}
