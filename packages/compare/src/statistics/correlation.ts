import { UmbraError } from "@umbra/protocol";
import { readCount, readNumber, readObject } from "../internal/json-read.ts";
import { normalQuantile } from "./normal-quantile.ts";

/** The JSON form of a {@link CorrelationAccumulator}. */
export interface CorrelationJson {
  n: number;
  meanX: number;
  meanY: number;
  m2x: number;
  m2y: number;
  cxy: number;
}

/**
 * A streaming, mergeable Pearson correlation of two variables (an input feature against
 * divergence 0/1, say): the count, both means and the second co-moments, updated one pair at a
 * time (Welford) and merged with the parallel formulas of Chan, Golub & LeVeque (1979):
 * δx = x̄_b − x̄_a, n = n_a + n_b, x̄ = x̄_a + δx·n_b/n, M2x = M2x_a + M2x_b + δx²·n_a·n_b/n,
 * Cxy = Cxy_a + Cxy_b + δx·δy·n_a·n_b/n.
 */
export class CorrelationAccumulator {
  n = 0;
  meanX = 0;
  meanY = 0;
  m2x = 0;
  m2y = 0;
  cxy = 0;

  /** Adds one (x, y) pair; non-finite values are skipped. */
  add(x: number, y: number): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    this.n++;
    const dx = x - this.meanX;
    const dy = y - this.meanY;
    this.meanX += dx / this.n;
    this.meanY += dy / this.n;
    this.m2x += dx * (x - this.meanX);
    this.m2y += dy * (y - this.meanY);
    this.cxy += dx * (y - this.meanY);
  }

  /** Adds another accumulator into this one. */
  merge(other: CorrelationAccumulator): this {
    if (other.n === 0) return this;
    if (this.n === 0) {
      this.n = other.n;
      this.meanX = other.meanX;
      this.meanY = other.meanY;
      this.m2x = other.m2x;
      this.m2y = other.m2y;
      this.cxy = other.cxy;
      return this;
    }
    const n = this.n + other.n;
    const dx = other.meanX - this.meanX;
    const dy = other.meanY - this.meanY;
    const w = (this.n * other.n) / n;
    this.m2x += other.m2x + dx * dx * w;
    this.m2y += other.m2y + dy * dy * w;
    this.cxy += other.cxy + dx * dy * w;
    this.meanX += (dx * other.n) / n;
    this.meanY += (dy * other.n) / n;
    this.n = n;
    return this;
  }

  /** A copy. */
  clone(): CorrelationAccumulator {
    return new CorrelationAccumulator().merge(this);
  }

  /** Pearson's r in [-1, 1]; `null` with fewer than 2 pairs or a constant variable. */
  get correlation(): number | null {
    if (this.n < 2 || this.m2x <= 0 || this.m2y <= 0) return null;
    const r = this.cxy / Math.sqrt(this.m2x * this.m2y);
    return Math.max(-1, Math.min(1, r));
  }

  /** The JSON form. */
  toJSON(): CorrelationJson {
    const { n, meanX, meanY, m2x, m2y, cxy } = this;
    return { n, meanX, meanY, m2x, m2y, cxy };
  }
}

/** Creates an empty {@link CorrelationAccumulator}. */
export function createCorrelationAccumulator(): CorrelationAccumulator {
  return new CorrelationAccumulator();
}

/** Reads a {@link CorrelationAccumulator} from its JSON form, naming `path` in errors. */
export function correlationFromJSON(json: unknown, path = ""): CorrelationAccumulator {
  const o = readObject(json, path);
  const c = new CorrelationAccumulator();
  c.n = readCount(o.n, `${path}/n`);
  c.meanX = readNumber(o.meanX, `${path}/meanX`);
  c.meanY = readNumber(o.meanY, `${path}/meanY`);
  c.m2x = readNumber(o.m2x, `${path}/m2x`, { min: 0 });
  c.m2y = readNumber(o.m2y, `${path}/m2y`, { min: 0 });
  c.cxy = readNumber(o.cxy, `${path}/cxy`);
  return c;
}

/**
 * The confidence interval of a correlation r from n pairs by Fisher's z-transform:
 * tanh(atanh(r) ± z/√(n−3)). `null` with n <= 3.
 */
export function correlationInterval(
  r: number,
  n: number,
  confidence = 0.95,
): { lower: number; upper: number } | null {
  if (!(r >= -1 && r <= 1)) throw UmbraError.invalid("r", "must be in [-1, 1]");
  if (n <= 3) return null;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const center = Math.atanh(Math.max(-0.9999999999, Math.min(0.9999999999, r)));
  const half = z / Math.sqrt(n - 3);
  return { lower: Math.tanh(center - half), upper: Math.tanh(center + half) };
}
