import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Streams, Subjects } from "@umbra/protocol";

/** Options of {@link ensureStreams}. */
export interface EnsureStreamsOptions {
  /** JetStream duplicate window for publisher retries (msg-id dedupe), in ms. */
  readonly duplicateWindowMs: number;
  /** Age after which records are dropped, in ms. */
  readonly maxAgeMs: number;
  /** Stream replicas in a cluster (1, 3 or 5). */
  readonly replicas: number;
  /**
   * Decision records kept per experiment in `UMBRA_DECISIONS` (the log has no age limit: a
   * decision stays explainable for as long as it is kept). Default 100 000.
   */
  readonly decisionsPerExperiment?: number;
}

/** The record kinds the collector consumes, with the stream each lives in. */
export const IngestKinds = {
  pairs: { stream: Streams.pairs, subjects: Subjects.wildcard.pairs, record: "pair" },
  exposures: {
    stream: Streams.exposures,
    subjects: Subjects.wildcard.exposures,
    record: "exposure",
  },
  labels: { stream: Streams.labels, subjects: Subjects.wildcard.labels, record: "label" },
} as const;

/** One of the {@link IngestKinds}: `pairs`, `exposures` or `labels`. */
export type IngestKind = keyof typeof IngestKinds;

/** The ingest kinds in the order the collector handles them. */
export const INGEST_KINDS: readonly IngestKind[] = ["pairs", "exposures", "labels"];

const NS_PER_MS = 1_000_000;

/**
 * Creates the collector's streams if they are missing and brings the settings the collector owns
 * (subjects, duplicate window, max age, per-subject limit, storage, retention) in line if they
 * differ: safe to call from every replica at every start. `UMBRA_DLQ` binds `umbra.dlq.>`,
 * `UMBRA_DECISIONS` binds `umbra.decisions.>` (no age limit, a bound per experiment instead).
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  options: EnsureStreamsOptions,
): Promise<void> {
  const maxAge = options.maxAgeMs * NS_PER_MS;
  const wanted = [
    ...INGEST_KINDS.map((k) => ({
      name: IngestKinds[k].stream,
      subjects: IngestKinds[k].subjects,
      maxAge,
      perSubject: -1,
    })),
    { name: Streams.deadLetters, subjects: Subjects.wildcard.deadLetters, maxAge, perSubject: -1 },
    {
      name: Streams.decisions,
      subjects: Subjects.wildcard.decisions,
      maxAge: 0,
      perSubject: options.decisionsPerExperiment ?? 100_000,
    },
  ];
  for (const { name, subjects, maxAge: max_age, perSubject } of wanted) {
    const config: Partial<StreamConfig> & { name: string } = {
      name,
      subjects: [subjects],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: options.duplicateWindowMs * NS_PER_MS,
      max_age,
      max_msgs_per_subject: perSubject,
      num_replicas: options.replicas,
    };
    let existing: StreamConfig | undefined;
    try {
      existing = (await jsm.streams.info(name)).config;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound))
        throw error;
    }
    if (existing === undefined) {
      try {
        await jsm.streams.add(config);
        continue;
      } catch (error) {
        // Another replica created it between our info and add: fall through to the update check.
        existing = (await jsm.streams.info(name)).config;
        if (existing === undefined) throw error;
      }
    }
    const differs =
      existing.subjects?.join(",") !== config.subjects?.join(",") ||
      existing.duplicate_window !== config.duplicate_window ||
      existing.max_age !== config.max_age ||
      (existing.max_msgs_per_subject ?? -1) !== perSubject ||
      existing.num_replicas !== config.num_replicas;
    if (differs) {
      await jsm.streams.update(name, {
        subjects: config.subjects ?? [],
        duplicate_window: config.duplicate_window ?? 0,
        max_age: config.max_age ?? 0,
        max_msgs_per_subject: perSubject,
        num_replicas: options.replicas,
      });
    }
  }
}
