import {
  BASIS_POINTS,
  buildExperimentFlag,
  buildFlagFile,
  type ExperimentSpec,
  experimentFlagKey,
  type FlagFile,
  parseExperimentSpec,
  specHash,
} from "@umbra/protocol";
import type { DeviceMix, RegionMix } from "@umbra/testing";

/** The demo's experiment: which intent a shopper has (browse, compare, buy). */
export const DEMO_EXPERIMENT = "intent";
/** The model name every variant server serves. */
export const DEMO_MODEL = "intent";

/** One model server of the demo and what it is meant to show. */
export interface DemoVariant {
  readonly name: "prod" | "A" | "B" | "C";
  /** What it is, in words. */
  readonly role: string;
  /** What should happen to it. */
  readonly expected: string;
  /** `umbra-variant` arguments beyond the common ones (the reference-model knobs). */
  readonly knobs: readonly string[];
  /** The share of requests mirrored to it (candidates only). */
  readonly sampleBasisPoints?: number;
}

/** Arguments every variant shares: the same reference classifier, the same weights. */
export const COMMON_VARIANT_ARGS: readonly string[] = [
  "--reference",
  "classifier",
  "--name",
  DEMO_MODEL,
  "--input",
  "json",
  "--classes",
  "browse,compare,buy",
  "--weights-seed",
  "intent-2026-03",
];

/**
 * The four model servers. They share the weights, so they agree unless a knob says otherwise:
 * A disagrees on 2% of ap-south requests (0.4% overall) and answers faster, B is as right as
 * production but 10× slower, C answers differently on 12% of mobile requests and nowhere else.
 */
export const DEMO_VARIANTS: readonly DemoVariant[] = [
  {
    name: "prod",
    role: "production model (v3)",
    expected: "live until a candidate earns its place",
    knobs: ["--seed", "prod", "--latency-ms", "3", "--jitter-ms", "4", "--model-version", "3"],
  },
  {
    name: "A",
    role: "a better retrain (v4): agrees with production on 99.6% of requests, faster",
    expected: "promoted through every stage to live",
    sampleBasisPoints: BASIS_POINTS,
    knobs: [
      "--seed",
      "A",
      "--latency-ms",
      "2",
      "--jitter-ms",
      "3",
      "--diverge-field",
      "region",
      "--diverge-value",
      "ap-south",
      "--diverge-rate",
      "0.02",
      "--model-version",
      "4",
    ],
  },
  {
    name: "B",
    role: "a larger model (v4-xl): the same answers, p99 far over budget",
    expected: "rejected for latency",
    // Half the requests: a slow candidate should not need a shadow queue as deep as production's traffic.
    sampleBasisPoints: BASIS_POINTS / 2,
    knobs: [
      "--seed",
      "B",
      "--latency-ms",
      "30",
      "--jitter-ms",
      "4",
      "--slow-factor",
      "10",
      "--model-version",
      "4-xl",
    ],
  },
  {
    name: "C",
    role: "a retrain on desktop-heavy data (v4-d): wrong on mobile only",
    expected: "rejected for its mobile segment",
    sampleBasisPoints: BASIS_POINTS,
    knobs: [
      "--seed",
      "C",
      "--latency-ms",
      "3",
      "--jitter-ms",
      "4",
      "--diverge-field",
      "device",
      "--diverge-value",
      "mobile",
      "--diverge-rate",
      "0.12",
      "--model-version",
      "4-d",
    ],
  },
];

/** Device mix of the demo traffic: mobile is a minority, so C's average hides its mobile problem. */
export const DEMO_DEVICES: DeviceMix = { mobile: 25, desktop: 55, tablet: 20 };
/** Region mix of the demo traffic. */
export const DEMO_REGIONS: RegionMix = { "eu-west": 40, "us-east": 40, "ap-south": 20 };

/** The budget the demo's criteria set, for the README and the status line. */
export const DEMO_CRITERIA = {
  maxDivergenceRate: 0.05,
  maxShadowP99LatencyMs: 150,
  maxErrorRate: 0.01,
  minSamples: 2_000,
  minSamplesPerSegment: 400,
  minDurationMs: 30_000,
  maxDurationMs: 240_000,
} as const;

/** How long each live stage holds, and the post-promotion watch. */
export const DEMO_STAGE_HOLD_MS = 15_000;
/** The post-promotion watch: production mirrored beside A. */
export const DEMO_WATCH_MS = 15_000;

/**
 * The experiment spec the demo registers with the collector before any traffic: variants and
 * where they are served, the label compared, the device segments that must each be covered,
 * and criteria that make the outcomes clear within minutes (short holds, a few thousand pairs).
 */
export function buildDemoSpec(addresses: Readonly<Record<string, string>>): ExperimentSpec {
  const variants: Record<string, unknown> = {};
  for (const v of DEMO_VARIANTS) {
    const address = addresses[v.name];
    if (address === undefined) throw new Error(`no address for variant ${v.name}`);
    variants[v.name] = {
      target: { kind: "oip", address, model: DEMO_MODEL, transport: "stream" },
      ...(v.sampleBasisPoints === undefined ? {} : { sampleBasisPoints: v.sampleBasisPoints }),
    };
  }
  return parseExperimentSpec({
    schema: 1,
    experiment: DEMO_EXPERIMENT,
    description:
      "Umbra demo: a better retrain (A), a slow one (B) and one that is wrong on mobile (C) in the shadow of production.",
    live: "prod",
    variants,
    outputs: { label: { kind: "label" } },
    segments: [{ attribute: "device", values: ["mobile", "desktop", "tablet"] }],
    criteria: { ...DEMO_CRITERIA },
    stages: [
      { name: "live-1", rolloutBasisPoints: 100, holdMs: DEMO_STAGE_HOLD_MS },
      { name: "live-5", rolloutBasisPoints: 500, holdMs: DEMO_STAGE_HOLD_MS },
      { name: "live-25", rolloutBasisPoints: 2_500, holdMs: DEMO_STAGE_HOLD_MS },
      { name: "live-50", rolloutBasisPoints: 5_000, holdMs: DEMO_STAGE_HOLD_MS },
      { name: "live-100", rolloutBasisPoints: 10_000, holdMs: DEMO_STAGE_HOLD_MS },
    ],
    watchMs: DEMO_WATCH_MS,
  });
}

/**
 * The flag file the demo starts from: production live, A and C mirrored on every request, B on
 * every other one. It is the file the collector rewrites as it promotes and rejects.
 */
export function buildDemoFlagFile(spec: ExperimentSpec): FlagFile {
  const flag = buildExperimentFlag({
    experiment: spec.experiment,
    live: spec.live,
    candidates: Object.entries(spec.variants)
      .filter(([name]) => name !== spec.live)
      .map(([variant, v]) => ({ variant, sampleBasisPoints: v.sampleBasisPoints ?? BASIS_POINTS })),
    stage: "shadow",
    revision: 1,
    specHash: specHash(spec),
  });
  return buildFlagFile({ [experimentFlagKey(spec.experiment)]: flag });
}
