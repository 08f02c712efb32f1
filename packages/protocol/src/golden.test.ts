// Golden vectors: encoded records any consumer (Python, Go, …) can check its decoder against.
// Regenerate deliberately with `UMBRA_WRITE_FIXTURES=1 npx vitest run --project @umbra/protocol golden`
// — a change to these files is a wire-format change and needs a schema-version decision.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord, encodeValue } from "./codec.ts";
import { UmbraError } from "./errors.ts";
import {
  buildExperimentFlag,
  buildFlagFile,
  createFlagEvaluator,
  type ExperimentFlagOptions,
} from "./flags.ts";
import { sampleDecision, sampleExposure, sampleLabel, samplePair } from "./internal/samples.ts";
import type { RecordKind } from "./records.ts";

const dir = join(import.meta.dirname, "..", "fixtures");
const write = process.env.UMBRA_WRITE_FIXTURES === "1";
const raw = new Packr({ useRecords: false });

/** The wire value as JSON: msgpack bin becomes `{ "$base64": "…" }`. */
function meaning(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(meaning);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, meaning(v)]));
  return value;
}

const goldens: [string, RecordKind, () => unknown][] = [
  ["pair", "pair", samplePair],
  ["exposure", "exposure", sampleExposure],
  ["label", "label", sampleLabel],
  ["decision", "decision", sampleDecision],
];

describe("golden vectors", () => {
  for (const [name, kind, make] of goldens) {
    it(`decodes fixtures/${name}.msgpack to the record its .json describes, and encodes it back byte for byte`, () => {
      const bytesPath = join(dir, `${name}.msgpack`);
      const jsonPath = join(dir, `${name}.json`);
      if (write) {
        mkdirSync(dir, { recursive: true });
        const bytes = encodeRecord(kind, make() as never);
        writeFileSync(bytesPath, bytes);
        writeFileSync(jsonPath, `${JSON.stringify(meaning(raw.unpack(bytes)), null, 2)}\n`);
      }
      const bytes = new Uint8Array(readFileSync(bytesPath));
      expect(meaning(raw.unpack(bytes))).toEqual(JSON.parse(readFileSync(jsonPath, "utf8")));
      const decoded = decodeRecord(kind, bytes);
      expect(decoded).toEqual(make());
      expect(Buffer.from(encodeRecord(kind, decoded as never)).equals(Buffer.from(bytes))).toBe(
        true,
      );
    });
  }
});

interface BadCase {
  file: string;
  kind: RecordKind;
  code: "invalid_argument" | "unsupported_version";
  field: string;
  why: string;
}

function badCases(): [BadCase, Uint8Array][] {
  const p = samplePair;
  const enc = (v: unknown) => encodeValue(v);
  const without = <T extends object>(o: T, k: keyof T) => {
    const c = { ...o };
    delete c[k];
    return c;
  };
  const good = encodeRecord("pair", samplePair());
  const cases: [Omit<BadCase, "file">, string, Uint8Array][] = [
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "(message)",
        why: "0xc1 is never used in msgpack",
      },
      "not-msgpack",
      new Uint8Array([0xc1, 0x00]),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "(message)",
        why: "the message stops half way",
      },
      "truncated",
      good.slice(0, good.length >> 1),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "(record)",
        why: "a msgpack array, not a map",
      },
      "not-a-map",
      enc([1, 2, 3]),
    ],
    [
      {
        kind: "pair",
        code: "unsupported_version",
        field: "/schema",
        why: "schema 2 is newer than this reader",
      },
      "schema-2",
      enc({ ...p(), schema: 2 }),
    ],
    [
      { kind: "pair", code: "invalid_argument", field: "/schema", why: "schema is missing" },
      "no-schema",
      enc(without(p(), "schema")),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/kind",
        why: "a label where a pair was expected",
      },
      "wrong-kind",
      enc({ ...p(), kind: "label" }),
    ],
    [
      { kind: "pair", code: "invalid_argument", field: "/requestId", why: "requestId is required" },
      "no-request-id",
      enc(without(p(), "requestId")),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/requestId",
        why: "request ids are printable ASCII",
      },
      "request-id-not-ascii",
      enc({ ...p(), requestId: "réq 1" }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/experiment",
        why: "a dot is not allowed in a subject token",
      },
      "experiment-not-token",
      enc({ ...p(), experiment: "rank.er" }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/shadow/outcome",
        why: "an outcome that does not exist",
      },
      "unknown-outcome",
      enc({ ...p(), shadow: { outcome: "maybe" } }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/shadow/latencyMs",
        why: "outcome ok needs the shadow latency",
      },
      "ok-without-latency",
      enc({ ...p(), shadow: { outcome: "ok", output: {} } }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/shadow/error",
        why: "outcome error needs the error",
      },
      "error-without-error",
      enc({ ...p(), shadow: { outcome: "error" } }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/shadow/dropReason",
        why: "outcome dropped needs the reason",
      },
      "dropped-without-reason",
      enc({ ...p(), shadow: { outcome: "dropped" } }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/production/latencyMs",
        why: "latency cannot be negative",
      },
      "negative-latency",
      enc({ ...p(), production: { output: 1, latencyMs: -1 } }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/variant",
        why: "a variant is never its own shadow",
      },
      "variant-is-live",
      enc({ ...p(), variant: "prod" }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/sampleBasisPoints",
        why: "more than 10 000 basis points",
      },
      "sample-over-100",
      enc({ ...p(), sampleBasisPoints: 10_001 }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/input/sha256",
        why: "capture sha256 without the hash",
      },
      "capture-without-hash",
      enc({ ...p(), input: { capture: "sha256" } }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/shadow/output/embedding/$dtype",
        why: "f16 is not a supported dtype",
      },
      "unknown-dtype",
      enc({
        ...p(),
        shadow: {
          outcome: "ok",
          latencyMs: 1,
          output: { embedding: { $dtype: "f16", $bytes: new Uint8Array(4) } },
        },
      }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/shadow/output/embedding/$bytes",
        why: "7 bytes cannot hold f32 values",
      },
      "dtype-length",
      enc({
        ...p(),
        shadow: {
          outcome: "ok",
          latencyMs: 1,
          output: { embedding: { $dtype: "f32", $bytes: new Uint8Array(7) } },
        },
      }),
    ],
    [
      {
        kind: "pair",
        code: "invalid_argument",
        field: "/segment",
        why: "more than 16 segment attributes",
      },
      "too-many-segments",
      enc({
        ...p(),
        segment: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])),
      }),
    ],
    [
      {
        kind: "exposure",
        code: "invalid_argument",
        field: "/windowEndMs",
        why: "the window ends before it starts",
      },
      "window",
      enc({ ...sampleExposure(), windowEndMs: 1 }),
    ],
    [
      {
        kind: "exposure",
        code: "invalid_argument",
        field: "/entries/0/mirrors/A",
        why: "more dispatched than planned",
      },
      "overcount",
      enc({
        ...sampleExposure(),
        entries: [
          {
            plan: "prod+A",
            segment: {},
            requests: 1,
            mirrors: { A: { planned: 1, dispatched: 2, dropped: {} } },
          },
        ],
      }),
    ],
    [
      {
        kind: "label",
        code: "invalid_argument",
        field: "/observedAtMs",
        why: "a time must be an integer",
      },
      "time",
      enc({ ...sampleLabel(), observedAtMs: 1.5 }),
    ],
    [
      {
        kind: "decision",
        code: "invalid_argument",
        field: "/specHash",
        why: "the spec hash is 64 hex characters",
      },
      "spec-hash",
      enc({ ...sampleDecision(), specHash: "abc" }),
    ],
  ];
  return cases.map(([c, name, bytes]) => [
    { ...c, file: `bad/${c.kind}-bad-${name}.msgpack` },
    bytes,
  ]);
}

describe("malformed fixtures", () => {
  const manifestPath = join(dir, "bad", "manifest.json");
  if (write) {
    mkdirSync(join(dir, "bad"), { recursive: true });
    const cases = badCases();
    for (const [c, bytes] of cases) writeFileSync(join(dir, c.file), bytes);
    writeFileSync(
      manifestPath,
      `${JSON.stringify(
        cases.map(([c]) => c),
        null,
        2,
      )}\n`,
    );
  }
  const manifest = existsSync(manifestPath)
    ? (JSON.parse(readFileSync(manifestPath, "utf8")) as BadCase[])
    : [];

  it("has a malformed fixture for every rule class", () => {
    expect(manifest.length).toBeGreaterThanOrEqual(20);
  });

  for (const c of manifest) {
    it(`rejects ${c.file} with ${c.code} naming ${c.field} (${c.why})`, () => {
      const bytes = new Uint8Array(readFileSync(join(dir, c.file)));
      let caught: unknown;
      try {
        decodeRecord(c.kind, bytes);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(UmbraError);
      const err = caught as UmbraError;
      expect(err.code).toBe(c.code);
      expect(err.field).toBe(c.field);
      expect(err.message.startsWith(`${c.field}: `) || err.message.startsWith(`${c.field} `)).toBe(
        true,
      );
    });
  }
});

describe("bucketing vectors", () => {
  const path = join(dir, "bucketing-vectors.json");
  const experiments: ExperimentFlagOptions[] = [
    {
      experiment: "ranker",
      live: "prod",
      revision: 1,
      candidates: [
        { variant: "A", sampleBasisPoints: 10_000 },
        { variant: "B", sampleBasisPoints: 2_500 },
        { variant: "C", sampleBasisPoints: 1_000 },
      ],
    },
    {
      experiment: "ranker",
      live: "prod",
      revision: 9,
      stage: "live-5",
      rollout: { variant: "A", basisPoints: 500 },
      candidates: [
        { variant: "A", sampleBasisPoints: 5_000 },
        { variant: "B", sampleBasisPoints: 2_500 },
      ],
    },
  ];
  const ids = Array.from(
    { length: 200 },
    (_, i) => `req-${(i * 7919).toString(16).padStart(6, "0")}`,
  );
  interface Vector {
    flag: ExperimentFlagOptions;
    expected: { targetingKey: string; flagVariant: string }[];
  }
  const compute = (): Vector[] =>
    experiments.map((flag) => {
      const evaluate = createFlagEvaluator(
        buildFlagFile({ [`umbra.${flag.experiment}`]: buildExperimentFlag(flag) }),
      );
      return {
        flag,
        expected: ids.map((targetingKey) => ({
          targetingKey,
          flagVariant: evaluate(flag.experiment, targetingKey).flagVariant,
        })),
      };
    });
  if (write) writeFileSync(path, `${JSON.stringify(compute(), null, 1)}\n`);

  it("assigns fixed request ids to the same plans as when the vectors were pinned (a re-bucketing dependency bump fails here)", () => {
    const pinned = JSON.parse(readFileSync(path, "utf8")) as Vector[];
    expect(compute()).toEqual(pinned);
    const mirroredToB = pinned[0]?.expected.filter((e) => e.flagVariant.includes("+B")).length ?? 0;
    expect(mirroredToB).toBeGreaterThan(20);
    expect(mirroredToB).toBeLessThan(80);
  });
});
