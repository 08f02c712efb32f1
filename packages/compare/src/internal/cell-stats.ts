import { type PairRecord, UmbraError } from "@umbra/protocol";
import type { DivergentExample, PairComparison } from "../aggregate/divergent-example.ts";
import {
  LatencyHistogram,
  type LatencyHistogramJson,
  latencyHistogramFromJSON,
} from "../statistics/latency-histogram.ts";
import {
  RateCounter,
  type RateCounterJson,
  rateCounterFromJSON,
} from "../statistics/rate-counter.ts";
import { Reservoir, type ReservoirJson, reservoirFromJSON } from "../statistics/reservoir.ts";
import { SeededRandom } from "../statistics/seeded-random.ts";
import {
  SimilaritySketch,
  type SimilaritySketchJson,
  similaritySketchFromJSON,
} from "../statistics/similarity-sketch.ts";
import { readArray, readCount, readObject } from "./json-read.ts";

/** Shadow outcomes in the order of `CellStats.outcomes`. */
export const OUTCOMES = [
  "ok",
  "error",
  "timeout",
  "dropped",
  "rejected_by_breaker",
  "skipped_unhealthy",
] as const;

/** Index of each outcome in `CellStats.outcomes`. */
export const OUTCOME_INDEX: Readonly<Record<string, number>> = Object.freeze(
  // No prototype: an outcome such as "constructor" must find nothing.
  Object.assign(Object.create(null) as Record<string, number>, {
    ok: 0,
    error: 1,
    timeout: 2,
    dropped: 3,
    rejected_by_breaker: 4,
    skipped_unhealthy: 5,
  }),
);

/** What one pair contributes, worked out once and shared by every cell it lands in. */
export interface PairFacts {
  pair: PairRecord;
  comparison: PairComparison | undefined;
  outcomeIndex: number;
  compared: boolean;
  divergent: boolean;
  similarity: number | null;
  productionFailed: boolean;
  example: DivergentExample | undefined;
  makeExample: (facts: PairFacts) => DivergentExample;
}

/** Sizes every cell of one aggregate shares. */
export interface CellConfig {
  readonly similarityBins: number;
  readonly latencyDigits: number;
  readonly examples: number;
}

/** The JSON form of a cell. */
export interface CellStatsJson {
  pairs: number;
  outcomes: number[];
  divergence: RateCounterJson;
  uncompared: number;
  productionErrors: number;
  warmup: number;
  similarity: SimilaritySketchJson;
  latency: {
    production: LatencyHistogramJson;
    shadow: LatencyHistogramJson;
    productionCacheHit: LatencyHistogramJson;
    shadowCacheHit: LatencyHistogramJson;
  };
  productionCacheHits: RateCounterJson;
  shadowCacheHits: RateCounterJson;
  sideEffectAttempts: number;
  pairsWithSideEffects: number;
  mirrors: { planned: number; dispatched: number; dropped: number };
  examples: ReservoirJson<DivergentExample>;
}

function exampleOf(facts: PairFacts): DivergentExample {
  facts.example ??= facts.makeExample(facts);
  return facts.example;
}

/**
 * Everything kept for one variant (× one segment value): counts by outcome, divergence,
 * similarity, latencies, cache hits, side effects, exposure counts and divergent examples.
 * Adding a pair is O(1).
 */
export class CellStats {
  pairs = 0;
  readonly outcomes = new Float64Array(OUTCOMES.length);
  readonly divergence = new RateCounter();
  uncompared = 0;
  productionErrors = 0;
  warmup = 0;
  readonly similarity: SimilaritySketch;
  readonly productionLatency: LatencyHistogram;
  readonly shadowLatency: LatencyHistogram;
  readonly productionCacheHitLatency: LatencyHistogram;
  readonly shadowCacheHitLatency: LatencyHistogram;
  readonly productionCacheHits = new RateCounter();
  readonly shadowCacheHits = new RateCounter();
  sideEffectAttempts = 0;
  pairsWithSideEffects = 0;
  planned = 0;
  dispatched = 0;
  droppedMirrors = 0;
  examples: Reservoir<DivergentExample>;

  constructor(config: CellConfig, seed: number) {
    this.similarity = new SimilaritySketch(config.similarityBins);
    this.productionLatency = new LatencyHistogram(config.latencyDigits);
    this.shadowLatency = new LatencyHistogram(config.latencyDigits);
    this.productionCacheHitLatency = new LatencyHistogram(config.latencyDigits);
    this.shadowCacheHitLatency = new LatencyHistogram(config.latencyDigits);
    this.examples = new Reservoir(config.examples, new SeededRandom(seed));
  }

  add(f: PairFacts): void {
    const pair = f.pair;
    this.pairs++;
    this.outcomes[f.outcomeIndex] = (this.outcomes[f.outcomeIndex] as number) + 1;
    if (f.productionFailed) this.productionErrors++;
    if (f.compared) {
      this.divergence.add(f.divergent);
      if (f.similarity !== null) this.similarity.add(f.similarity);
      if (f.divergent) this.examples.offerLazy(exampleOf, f);
    } else if (f.outcomeIndex === 0 && !f.productionFailed) {
      this.uncompared++;
    }
    const pc = pair.production.cacheHit;
    if (pc !== undefined) this.productionCacheHits.add(pc);
    const sc = pair.shadow.cacheHit;
    if (sc !== undefined) this.shadowCacheHits.add(sc);
    if (pair.warmup) {
      this.warmup++;
    } else {
      if (!f.productionFailed) {
        (pc === true ? this.productionCacheHitLatency : this.productionLatency).record(
          pair.production.latencyMs,
        );
      }
      const sl = pair.shadow.latencyMs;
      if (f.outcomeIndex === 0 && sl !== undefined) {
        (sc === true ? this.shadowCacheHitLatency : this.shadowLatency).record(sl);
      }
    }
    if (pair.sideEffectAttempts > 0) {
      this.sideEffectAttempts += pair.sideEffectAttempts;
      this.pairsWithSideEffects++;
    }
  }

  addMirrors(planned: number, dispatched: number, dropped: number): void {
    this.planned += planned;
    this.dispatched += dispatched;
    this.droppedMirrors += dropped;
  }

  merge(o: CellStats): this {
    this.pairs += o.pairs;
    for (let i = 0; i < this.outcomes.length; i++) {
      this.outcomes[i] = (this.outcomes[i] as number) + (o.outcomes[i] as number);
    }
    this.divergence.merge(o.divergence);
    this.uncompared += o.uncompared;
    this.productionErrors += o.productionErrors;
    this.warmup += o.warmup;
    this.similarity.merge(o.similarity);
    this.productionLatency.merge(o.productionLatency);
    this.shadowLatency.merge(o.shadowLatency);
    this.productionCacheHitLatency.merge(o.productionCacheHitLatency);
    this.shadowCacheHitLatency.merge(o.shadowCacheHitLatency);
    this.productionCacheHits.merge(o.productionCacheHits);
    this.shadowCacheHits.merge(o.shadowCacheHits);
    this.sideEffectAttempts += o.sideEffectAttempts;
    this.pairsWithSideEffects += o.pairsWithSideEffects;
    this.planned += o.planned;
    this.dispatched += o.dispatched;
    this.droppedMirrors += o.droppedMirrors;
    // An empty side takes the other's reservoir whole, random state included, so a copy made
    // by merging into an empty aggregate continues exactly like the original.
    if (this.examples.seen === 0) this.examples = o.examples.clone();
    else this.examples.merge(o.examples);
    return this;
  }

  toJSON(): CellStatsJson {
    return {
      pairs: this.pairs,
      outcomes: Array.from(this.outcomes),
      divergence: this.divergence.toJSON(),
      uncompared: this.uncompared,
      productionErrors: this.productionErrors,
      warmup: this.warmup,
      similarity: this.similarity.toJSON(),
      latency: {
        production: this.productionLatency.toJSON(),
        shadow: this.shadowLatency.toJSON(),
        productionCacheHit: this.productionCacheHitLatency.toJSON(),
        shadowCacheHit: this.shadowCacheHitLatency.toJSON(),
      },
      productionCacheHits: this.productionCacheHits.toJSON(),
      shadowCacheHits: this.shadowCacheHits.toJSON(),
      sideEffectAttempts: this.sideEffectAttempts,
      pairsWithSideEffects: this.pairsWithSideEffects,
      mirrors: { planned: this.planned, dispatched: this.dispatched, dropped: this.droppedMirrors },
      examples: this.examples.toJSON(),
    };
  }
}

function readExample(value: unknown, path: string): DivergentExample {
  const o = readObject(value, path);
  if (typeof o.requestId !== "string" || typeof o.variant !== "string") {
    throw UmbraError.invalid(path, "must be a divergent example (requestId and variant strings)");
  }
  return o as unknown as DivergentExample;
}

/** Reads a cell from its JSON form into a fresh cell of the aggregate's sizes. */
export function cellStatsFromJSON(json: unknown, path: string, config: CellConfig): CellStats {
  const o = readObject(json, path);
  const cell = new CellStats(config, 0);
  cell.pairs = readCount(o.pairs, `${path}/pairs`);
  const outcomes = readArray(o.outcomes, `${path}/outcomes`);
  OUTCOMES.forEach((_, i) => {
    cell.outcomes[i] = readCount(outcomes[i], `${path}/outcomes/${i}`);
  });
  cell.divergence.merge(rateCounterFromJSON(o.divergence, `${path}/divergence`));
  cell.uncompared = readCount(o.uncompared, `${path}/uncompared`);
  cell.productionErrors = readCount(o.productionErrors, `${path}/productionErrors`);
  cell.warmup = readCount(o.warmup, `${path}/warmup`);
  cell.similarity.merge(similaritySketchFromJSON(o.similarity, `${path}/similarity`));
  const latency = readObject(o.latency, `${path}/latency`);
  cell.productionLatency.merge(
    latencyHistogramFromJSON(latency.production, `${path}/latency/production`),
  );
  cell.shadowLatency.merge(latencyHistogramFromJSON(latency.shadow, `${path}/latency/shadow`));
  cell.productionCacheHitLatency.merge(
    latencyHistogramFromJSON(latency.productionCacheHit, `${path}/latency/productionCacheHit`),
  );
  cell.shadowCacheHitLatency.merge(
    latencyHistogramFromJSON(latency.shadowCacheHit, `${path}/latency/shadowCacheHit`),
  );
  cell.productionCacheHits.merge(
    rateCounterFromJSON(o.productionCacheHits, `${path}/productionCacheHits`),
  );
  cell.shadowCacheHits.merge(rateCounterFromJSON(o.shadowCacheHits, `${path}/shadowCacheHits`));
  cell.sideEffectAttempts = readCount(o.sideEffectAttempts, `${path}/sideEffectAttempts`);
  cell.pairsWithSideEffects = readCount(o.pairsWithSideEffects, `${path}/pairsWithSideEffects`);
  const mirrors = readObject(o.mirrors, `${path}/mirrors`);
  cell.planned = readCount(mirrors.planned, `${path}/mirrors/planned`);
  cell.dispatched = readCount(mirrors.dispatched, `${path}/mirrors/dispatched`);
  cell.droppedMirrors = readCount(mirrors.dropped, `${path}/mirrors/dropped`);
  cell.examples = reservoirFromJSON(o.examples, `${path}/examples`, readExample);
  if (cell.examples.capacity !== config.examples) {
    throw UmbraError.invalid(
      `${path}/examples/capacity`,
      "must equal the aggregate's example capacity",
    );
  }
  return cell;
}
