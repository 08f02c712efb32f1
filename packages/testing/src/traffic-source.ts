import { isSubjectToken, UmbraError } from "@umbra/protocol";
import { createRandom, type Random } from "./random.ts";

/** The device classes a {@link TrafficSource} draws from. */
export type Device = "mobile" | "desktop" | "tablet";

/** The devices, in the order weights are listed and drawn. */
export const DEVICES: readonly Device[] = ["mobile", "desktop", "tablet"];

/** Relative weights per device (any non-negative numbers; they need not sum to anything). */
export type DeviceMix = Readonly<Partial<Record<Device, number>>>;

/** Relative weights per region name. */
export type RegionMix = Readonly<Record<string, number>>;

/** One slice of traffic with its own share and, optionally, its own mixes and input shift. */
export interface TrafficSegment {
  /** The segment's name, a subject-safe token (`A–Z a–z 0–9 _ -`, 1–64 characters). */
  readonly name: string;
  /** Relative share of requests (≥ 0). */
  readonly weight: number;
  /** The device mix inside this segment; default: the source's `devices`. */
  readonly devices?: DeviceMix;
  /** The region mix inside this segment; default: the source's `regions`. */
  readonly regions?: RegionMix;
  /** Mean of this segment's feature values (a covariate shift against other segments). Default 0. */
  readonly featureMean?: number;
  /** Standard deviation of this segment's feature values. Default 1. */
  readonly featureSd?: number;
}

/** Which parts of {@link TrafficInput} a source fills. */
export type TrafficInputShape = "features" | "fields" | "both";

/** Options of {@link createTrafficSource}. Only `seed` is required. */
export interface TrafficSourceOptions {
  /** The seed; the same seed and options give the same requests, always. */
  readonly seed: number | string;
  /** The segment mix. Default: one segment `all`. */
  readonly segments?: readonly TrafficSegment[];
  /** The device mix. Default `{ mobile: 60, desktop: 30, tablet: 10 }`. */
  readonly devices?: DeviceMix;
  /** The region mix. Default `{ "eu-west": 40, "us-east": 40, "ap-south": 20 }`. */
  readonly regions?: RegionMix;
  /** How many distinct users requests come from (`user-0001` …). Default 1 000. */
  readonly userCount?: number;
  /** The length of the feature vector. Default 8. */
  readonly featureCount?: number;
  /** Whether requests carry a feature vector, JSON-like fields, or both. Default `"both"`. */
  readonly input?: TrafficInputShape;
  /** The timestamp of the first request, ms since the Unix epoch. Default 2026-01-01T00:00:00Z. */
  readonly startMs?: number;
  /** Mean request rate for the (Poisson) request timestamps. Default 100 per second. */
  readonly ratePerSecond?: number;
}

/** JSON-like request fields, the kind of input a ranking or pricing model takes. */
export interface TrafficFields {
  /** One to three words. */
  readonly query: string;
  readonly category: string;
  readonly priceCents: number;
  readonly quantity: number;
  readonly returningCustomer: boolean;
  readonly tags: readonly string[];
}

/** A request's model input. */
export interface TrafficInput {
  /** Feature vector (finite numbers), when the input shape includes features. */
  readonly features?: readonly number[];
  /** JSON-like fields, when the input shape includes fields. */
  readonly fields?: TrafficFields;
}

/** Who and where a request comes from: what segments and flag targeting look at. */
export interface TrafficContext {
  /** `user-0001` … `user-<userCount>`, drawn uniformly from the pool. */
  readonly userId: string;
  /** Drawn from the segment's device mix, else the source's. */
  readonly device: Device;
  /** Drawn from the segment's region mix, else the source's. */
  readonly region: string;
}

/** One generated request. */
export interface TrafficRequest {
  /** 0 for the first request of the source, then 1, 2, … */
  readonly sequence: number;
  /** A UUID-shaped ASCII id, determined by the seed and the sequence only. */
  readonly requestId: string;
  /** The request time; non-decreasing, Poisson arrivals at `ratePerSecond`. */
  readonly timestampMs: number;
  /** The name of the segment it was drawn from. */
  readonly segment: string;
  /** What the model gets. */
  readonly input: TrafficInput;
  /** Who sent it, from where: segment attributes and flag targeting context. */
  readonly context: TrafficContext;
}

/** An endless, reproducible stream of requests; see {@link createTrafficSource}. */
export interface TrafficSource extends Iterable<TrafficRequest> {
  /** How many requests have been produced so far. */
  readonly produced: number;
  /** The next request. */
  next(): TrafficRequest;
  /** The next `count` requests. */
  take(count: number): TrafficRequest[];
}

const DEFAULT_DEVICES: DeviceMix = { mobile: 60, desktop: 30, tablet: 10 };
const DEFAULT_REGIONS: RegionMix = { "eu-west": 40, "us-east": 40, "ap-south": 20 };
const DEFAULT_START_MS = Date.UTC(2026, 0, 1);
const CATEGORIES = ["books", "electronics", "garden", "grocery", "toys", "apparel"] as const;
const WORDS = [
  "red",
  "fast",
  "small",
  "organic",
  "wireless",
  "cheap",
  "classic",
  "kids",
  "pro",
  "eco",
];

/**
 * Creates a seeded traffic generator: requests with a UUID-shaped ASCII id, a feature vector
 * and/or JSON-like fields, and a context (user, device, region), drawn from configurable segment,
 * device and region mixes. Each aspect draws from its own fork of the seed, so the request ids
 * stay the same when the mixes change, and the mixes stay the same when the input shape changes.
 *
 * @example
 * ```ts
 * const traffic = createTrafficSource({
 *   seed: 7,
 *   segments: [
 *     { name: "mobile-eu", weight: 3, devices: { mobile: 1 }, regions: { "eu-west": 1 } },
 *     { name: "rest", weight: 7 },
 *   ],
 * });
 * for (const request of traffic.take(1_000)) serve(request);
 * ```
 */
export function createTrafficSource(options: TrafficSourceOptions): TrafficSource {
  const config = validate(options);
  const root = createRandom(options.seed);
  const streams = {
    ids: root.fork("request-ids"),
    arrivals: root.fork("arrivals"),
    segments: root.fork("segments"),
    context: root.fork("context"),
    input: root.fork("input"),
  };
  const segmentChoices = config.segments.map((s) => [s, s.weight] as const);
  const meanGapMs = 1_000 / config.ratePerSecond;
  const width = String(config.userCount).length;
  let produced = 0;
  let timestampMs = config.startMs;

  const next = (): TrafficRequest => {
    const sequence = produced;
    produced += 1;
    if (sequence > 0) timestampMs += streams.arrivals.exponential(meanGapMs);
    const segment = streams.segments.weighted(segmentChoices);
    const context: TrafficContext = {
      userId: `user-${String(streams.context.int(1, config.userCount)).padStart(width, "0")}`,
      device: streams.context.weighted(mixChoices(segment.devices ?? config.devices)),
      region: streams.context.weighted(mixChoices(segment.regions ?? config.regions)),
    };
    return {
      sequence,
      requestId: streams.ids.uuid(),
      timestampMs: Math.round(timestampMs),
      segment: segment.name,
      input: drawInput(streams.input, config, segment),
      context,
    };
  };

  return {
    get produced() {
      return produced;
    },
    next,
    take: (count) => {
      if (!Number.isSafeInteger(count) || count < 0) {
        throw UmbraError.invalid("count", `must be an integer >= 0 (got ${count})`);
      }
      return Array.from({ length: count }, next);
    },
    *[Symbol.iterator]() {
      for (;;) yield next();
    },
  };
}

interface Config {
  readonly segments: readonly TrafficSegment[];
  readonly devices: DeviceMix;
  readonly regions: RegionMix;
  readonly userCount: number;
  readonly featureCount: number;
  readonly input: TrafficInputShape;
  readonly startMs: number;
  readonly ratePerSecond: number;
}

function drawInput(rng: Random, config: Config, segment: TrafficSegment): TrafficInput {
  const withFeatures = config.input !== "fields";
  const withFields = config.input !== "features";
  const mean = segment.featureMean ?? 0;
  const sd = segment.featureSd ?? 1;
  const features = withFeatures
    ? Array.from({ length: config.featureCount }, () => rng.normal(mean, sd))
    : undefined;
  const fields: TrafficFields | undefined = withFields
    ? {
        query: Array.from({ length: rng.int(1, 3) }, () => rng.pick(WORDS)).join(" "),
        category: rng.pick(CATEGORIES),
        priceCents: rng.int(99, 99_999),
        quantity: rng.int(1, 5),
        returningCustomer: rng.bernoulli(0.4),
        tags: Array.from({ length: rng.int(0, 3) }, () => rng.pick(WORDS)),
      }
    : undefined;
  return {
    ...(features === undefined ? {} : { features }),
    ...(fields === undefined ? {} : { fields }),
  };
}

function mixChoices<K extends string>(mix: Readonly<Partial<Record<K, number>>>): [K, number][] {
  return (Object.entries(mix) as [K, number | undefined][]).map(([k, w]) => [k, w ?? 0]);
}

function validate(options: TrafficSourceOptions): Config {
  if (typeof options !== "object" || options === null) {
    throw UmbraError.invalid("options", "must be an object with at least a seed");
  }
  const segments = options.segments ?? [{ name: "all", weight: 1 }];
  if (!Array.isArray(segments) || segments.length === 0) {
    throw UmbraError.invalid("segments", "must be a non-empty array");
  }
  const names = new Set<string>();
  segments.forEach((s, i) => {
    if (!isSubjectToken(s.name)) {
      throw UmbraError.invalid(
        `segments[${i}].name`,
        `must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-' (got ${JSON.stringify(s.name)})`,
      );
    }
    if (names.has(s.name))
      throw UmbraError.invalid(`segments[${i}].name`, `must be unique (${s.name} repeats)`);
    names.add(s.name);
    if (!Number.isFinite(s.weight) || s.weight < 0) {
      throw UmbraError.invalid(
        `segments[${i}].weight`,
        `must be a finite number >= 0 (got ${s.weight})`,
      );
    }
    if (s.devices !== undefined) checkMix(`segments[${i}].devices`, s.devices, DEVICES);
    if (s.regions !== undefined) checkMix(`segments[${i}].regions`, s.regions);
    if (s.featureMean !== undefined && !Number.isFinite(s.featureMean)) {
      throw UmbraError.invalid(
        `segments[${i}].featureMean`,
        `must be finite (got ${s.featureMean})`,
      );
    }
    if (s.featureSd !== undefined && !(Number.isFinite(s.featureSd) && s.featureSd >= 0)) {
      throw UmbraError.invalid(
        `segments[${i}].featureSd`,
        `must be finite and >= 0 (got ${s.featureSd})`,
      );
    }
  });
  if (!segments.some((s) => s.weight > 0)) {
    throw UmbraError.invalid("segments", "must have at least one segment with a positive weight");
  }
  const devices = options.devices ?? DEFAULT_DEVICES;
  checkMix("devices", devices, DEVICES);
  const regions = options.regions ?? DEFAULT_REGIONS;
  checkMix("regions", regions);
  const userCount = options.userCount ?? 1_000;
  if (!Number.isSafeInteger(userCount) || userCount < 1) {
    throw UmbraError.invalid("userCount", `must be an integer >= 1 (got ${userCount})`);
  }
  const featureCount = options.featureCount ?? 8;
  if (!Number.isSafeInteger(featureCount) || featureCount < 0) {
    throw UmbraError.invalid("featureCount", `must be an integer >= 0 (got ${featureCount})`);
  }
  const input = options.input ?? "both";
  if (input !== "features" && input !== "fields" && input !== "both") {
    throw UmbraError.invalid(
      "input",
      `must be "features", "fields" or "both" (got ${JSON.stringify(input)})`,
    );
  }
  const startMs = options.startMs ?? DEFAULT_START_MS;
  if (!Number.isFinite(startMs))
    throw UmbraError.invalid("startMs", `must be finite (got ${startMs})`);
  const ratePerSecond = options.ratePerSecond ?? 100;
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
    throw UmbraError.invalid("ratePerSecond", `must be a finite number > 0 (got ${ratePerSecond})`);
  }
  return { segments, devices, regions, userCount, featureCount, input, startMs, ratePerSecond };
}

function checkMix(
  field: string,
  mix: Readonly<Record<string, number | undefined>>,
  allowed?: readonly string[],
): void {
  if (typeof mix !== "object" || mix === null)
    throw UmbraError.invalid(field, "must be an object of weights");
  let total = 0;
  for (const [key, weight] of Object.entries(mix)) {
    if (allowed !== undefined && !allowed.includes(key)) {
      throw UmbraError.invalid(`${field}.${key}`, `is not one of ${allowed.join(", ")}`);
    }
    if (allowed === undefined && !isSubjectToken(key)) {
      throw UmbraError.invalid(
        `${field}.${key}`,
        "must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
      );
    }
    if (weight === undefined) continue;
    if (!Number.isFinite(weight) || weight < 0) {
      throw UmbraError.invalid(`${field}.${key}`, `must be a finite weight >= 0 (got ${weight})`);
    }
    total += weight;
  }
  if (total <= 0) throw UmbraError.invalid(field, "must have at least one positive weight");
}
