import { UmbraError } from "@umbra/protocol";
import {
  CategoricalRates,
  type CategoricalRatesJson,
  categoricalRatesFromJSON,
} from "../statistics/categorical-rates.ts";
import {
  CorrelationAccumulator,
  type CorrelationJson,
  correlationFromJSON,
} from "../statistics/correlation.ts";
import { hashSeed } from "../statistics/seeded-random.ts";
import { BoundedKeyed } from "./bounded-keyed.ts";
import {
  type CellConfig,
  CellStats,
  type CellStatsJson,
  cellStatsFromJSON,
  type PairFacts,
} from "./cell-stats.ts";
import { readCount, readObject } from "./json-read.ts";
import { Timeline, TimelineField, type TimelineJson, timelineFromJSON } from "./timeline.ts";

/** The value a pair without the attribute is counted under. */
export const MISSING_VALUE = "__missing__";
/** The value beyond the bound on distinct values is counted under. */
export const OTHER_SEGMENT_VALUE = "__other__";

/** Sizes every variant of one aggregate shares. */
export interface VariantConfig extends CellConfig {
  readonly seed: number;
  readonly maxSegmentValues: number;
  readonly declaredValues: ReadonlyMap<string, readonly string[]>;
  readonly maxFields: number;
  readonly maxNumericFeatures: number;
  readonly maxCategoricalFeatures: number;
  readonly maxFeatureValues: number;
  readonly timeBucketMs: number;
  readonly maxTimeBuckets: number;
  readonly segmentExamples: number;
}

/** One segment attribute's cells: a cell per value, bounded, with an `__other__` cell. */
export class SegmentCells {
  readonly cells: BoundedKeyed<CellStats>;
  other: CellStats | undefined;
  readonly #config: CellConfig;
  readonly #seedOf: (value: string) => number;

  constructor(
    config: CellConfig,
    maxValues: number,
    declared: readonly string[],
    seedOf: (value: string) => number,
  ) {
    this.#config = config;
    this.#seedOf = seedOf;
    this.cells = new BoundedKeyed(
      maxValues,
      declared,
      (value) => new CellStats(config, seedOf(value)),
    );
  }

  cell(value: string): CellStats {
    if (value !== OTHER_SEGMENT_VALUE) {
      const c = this.cells.get(value);
      if (c !== undefined) return c;
    }
    this.other ??= new CellStats(this.#config, this.#seedOf(OTHER_SEGMENT_VALUE));
    return this.other;
  }
}

/** The JSON form of a variant's statistics. */
export interface VariantStatsJson {
  total: CellStatsJson;
  segments: Record<string, { cells: Record<string, CellStatsJson>; other: CellStatsJson | null }>;
  fields: CategoricalRatesJson;
  numericFeatures: Record<string, CorrelationJson>;
  categoricalFeatures: Record<string, CategoricalRatesJson>;
  featureOverflow: number;
  pairDropReasons: CategoricalRatesJson;
  mirrorDropReasons: CategoricalRatesJson;
  timeline: TimelineJson;
}

const MAX_REASONS = 16;

/** Everything one aggregate keeps for one shadow variant. */
export class VariantStats {
  readonly name: string;
  readonly total: CellStats;
  readonly segments = new Map<string, SegmentCells>();
  readonly fields: CategoricalRates;
  readonly numericFeatures: BoundedKeyed<CorrelationAccumulator>;
  readonly categoricalFeatures: BoundedKeyed<CategoricalRates>;
  featureOverflow = 0;
  readonly pairDropReasons = new CategoricalRates(MAX_REASONS);
  readonly mirrorDropReasons = new CategoricalRates(MAX_REASONS);
  readonly timeline: Timeline;
  readonly #config: VariantConfig;
  readonly #segmentConfig: CellConfig;

  constructor(name: string, config: VariantConfig) {
    this.name = name;
    this.#config = config;
    this.#segmentConfig = { ...config, examples: config.segmentExamples };
    this.total = new CellStats(config, hashSeed(config.seed, name));
    this.fields = new CategoricalRates(config.maxFields);
    this.numericFeatures = new BoundedKeyed(
      config.maxNumericFeatures,
      [],
      () => new CorrelationAccumulator(),
    );
    this.categoricalFeatures = new BoundedKeyed(
      config.maxCategoricalFeatures,
      [],
      () => new CategoricalRates(config.maxFeatureValues),
    );
    this.timeline = new Timeline(config.timeBucketMs, config.maxTimeBuckets);
  }

  segment(attribute: string): SegmentCells {
    let s = this.segments.get(attribute);
    if (s === undefined) {
      const seed = this.#config.seed;
      const prefix = `${this.name}\u0000${attribute}\u0000`;
      s = new SegmentCells(
        this.#segmentConfig,
        this.#config.maxSegmentValues,
        this.#config.declaredValues.get(attribute) ?? [],
        (value) => hashSeed(seed, prefix + value),
      );
      this.segments.set(attribute, s);
    }
    return s;
  }

  addFeatures(f: PairFacts): void {
    const features = f.pair.features;
    if (features === undefined) return;
    const y = f.divergent ? 1 : 0;
    for (const name in features) {
      const x = features[name];
      if (typeof x === "number") {
        const acc = this.numericFeatures.get(name);
        if (acc === undefined) this.featureOverflow++;
        else acc.add(x, y);
      } else if (x !== undefined) {
        const rates = this.categoricalFeatures.get(name);
        if (rates === undefined) this.featureOverflow++;
        else rates.add(typeof x === "string" ? x : String(x), f.divergent);
      }
    }
  }

  addTimeline(f: PairFacts): void {
    const b = this.timeline.at(f.pair.requestTimestampMs);
    b[TimelineField.pairs] = (b[TimelineField.pairs] as number) + 1;
    const o = TimelineField.ok + f.outcomeIndex;
    b[o] = (b[o] as number) + 1;
    if (f.compared) {
      b[TimelineField.compared] = (b[TimelineField.compared] as number) + 1;
      if (f.divergent) b[TimelineField.divergent] = (b[TimelineField.divergent] as number) + 1;
      if (f.similarity !== null) {
        b[TimelineField.similaritySum] = (b[TimelineField.similaritySum] as number) + f.similarity;
        b[TimelineField.similarityCount] = (b[TimelineField.similarityCount] as number) + 1;
      }
    }
  }

  merge(o: VariantStats): this {
    this.total.merge(o.total);
    for (const [attribute, theirs] of o.segments) {
      const mine = this.segment(attribute);
      for (const [value, cell] of theirs.cells.entries()) {
        mine.cell(value).merge(cell);
      }
      if (theirs.other !== undefined) mine.cell(OTHER_SEGMENT_VALUE).merge(theirs.other);
    }
    this.fields.merge(o.fields);
    for (const [name, acc] of o.numericFeatures.entries()) {
      const mine = this.numericFeatures.get(name);
      if (mine === undefined) this.featureOverflow += acc.n;
      else mine.merge(acc);
    }
    for (const [name, rates] of o.categoricalFeatures.entries()) {
      const mine = this.categoricalFeatures.get(name);
      if (mine === undefined) this.featureOverflow += rates.total().trials;
      else mine.merge(rates);
    }
    this.featureOverflow += o.featureOverflow;
    this.pairDropReasons.merge(o.pairDropReasons);
    this.mirrorDropReasons.merge(o.mirrorDropReasons);
    this.timeline.merge(o.timeline);
    return this;
  }

  toJSON(): VariantStatsJson {
    const segments: VariantStatsJson["segments"] = {};
    for (const [attribute, s] of this.segments) {
      const cells: Record<string, CellStatsJson> = {};
      for (const [value, cell] of s.cells.entries()) cells[value] = cell.toJSON();
      segments[attribute] = { cells, other: s.other?.toJSON() ?? null };
    }
    const numericFeatures: Record<string, CorrelationJson> = {};
    for (const [name, acc] of this.numericFeatures.entries()) numericFeatures[name] = acc.toJSON();
    const categoricalFeatures: Record<string, CategoricalRatesJson> = {};
    for (const [name, r] of this.categoricalFeatures.entries())
      categoricalFeatures[name] = r.toJSON();
    return {
      total: this.total.toJSON(),
      segments,
      fields: this.fields.toJSON(),
      numericFeatures,
      categoricalFeatures,
      featureOverflow: this.featureOverflow,
      pairDropReasons: this.pairDropReasons.toJSON(),
      mirrorDropReasons: this.mirrorDropReasons.toJSON(),
      timeline: this.timeline.toJSON(),
    };
  }
}

/** Reads a variant's statistics from its JSON form into a variant of the aggregate's sizes. */
export function variantStatsFromJSON(
  json: unknown,
  path: string,
  name: string,
  config: VariantConfig,
): VariantStats {
  const o = readObject(json, path);
  const v = new VariantStats(name, config);
  v.total.merge(cellStatsFromJSON(o.total, `${path}/total`, config));
  const segmentConfig = { ...config, examples: config.segmentExamples };
  for (const [attribute, s] of Object.entries(readObject(o.segments, `${path}/segments`))) {
    const at = `${path}/segments/${attribute}`;
    const so = readObject(s, at);
    const mine = v.segment(attribute);
    const cells = Object.entries(readObject(so.cells, `${at}/cells`));
    if (cells.length > mine.cells.maxKeys) {
      throw UmbraError.invalid(`${at}/cells`, `must have at most ${mine.cells.maxKeys} values`);
    }
    for (const [value, cell] of cells) {
      mine.cell(value).merge(cellStatsFromJSON(cell, `${at}/cells/${value}`, segmentConfig));
    }
    if (so.other !== null) {
      mine
        .cell(OTHER_SEGMENT_VALUE)
        .merge(cellStatsFromJSON(so.other, `${at}/other`, segmentConfig));
    }
  }
  v.fields.merge(categoricalRatesFromJSON(o.fields, `${path}/fields`));
  for (const [name, acc] of Object.entries(
    readObject(o.numericFeatures, `${path}/numericFeatures`),
  )) {
    const mine = v.numericFeatures.get(name);
    if (mine === undefined)
      throw UmbraError.invalid(
        `${path}/numericFeatures`,
        "has more features than maxNumericFeatures",
      );
    mine.merge(correlationFromJSON(acc, `${path}/numericFeatures/${name}`));
  }
  for (const [name, r] of Object.entries(
    readObject(o.categoricalFeatures, `${path}/categoricalFeatures`),
  )) {
    const mine = v.categoricalFeatures.get(name);
    if (mine === undefined) {
      throw UmbraError.invalid(
        `${path}/categoricalFeatures`,
        "has more features than maxCategoricalFeatures",
      );
    }
    mine.merge(categoricalRatesFromJSON(r, `${path}/categoricalFeatures/${name}`));
  }
  v.featureOverflow = readCount(o.featureOverflow, `${path}/featureOverflow`);
  v.pairDropReasons.merge(categoricalRatesFromJSON(o.pairDropReasons, `${path}/pairDropReasons`));
  v.mirrorDropReasons.merge(
    categoricalRatesFromJSON(o.mirrorDropReasons, `${path}/mirrorDropReasons`),
  );
  v.timeline.merge(timelineFromJSON(o.timeline, `${path}/timeline`));
  return v;
}
