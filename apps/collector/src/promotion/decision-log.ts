import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import {
  type DecisionRecord,
  decodeDecision,
  encodeDecision,
  Streams,
  Subjects,
} from "@umbra/protocol";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";
import { isCasConflict } from "../replicas/lease-manager.ts";

/**
 * The JetStream message id of a decision record: one per experiment version and `seq`, so a
 * record published twice (a retry, a takeover replaying its predecessor's outbox) lands once.
 */
export function decisionMessageId(record: DecisionRecord): string {
  return `${record.experiment}:${record.specHash.slice(0, 16)}:${record.seq}`;
}

/**
 * The append side of one experiment's decision log, `umbra.decisions.<experiment>` in
 * `UMBRA_DECISIONS`. Every append expects the subject's last sequence to be the one this writer
 * last saw: a second writer (a replica that lost the lease and does not know it yet) fails
 * instead of interleaving its records. That is the log's fence.
 */
export class DecisionLog {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #subject: string;
  #lastSeq = 0;

  constructor(deps: {
    readonly js: JetStreamClient;
    readonly jsm: JetStreamManager;
    readonly experiment: string;
  }) {
    this.#js = deps.js;
    this.#jsm = deps.jsm;
    this.#subject = Subjects.decisions(deps.experiment);
  }

  /** Reads the last record on the subject and takes its sequence as the expected one. */
  async open(): Promise<DecisionRecord | undefined> {
    const stored = await this.#jsm.streams
      .getMessage(Streams.decisions, { last_by_subj: this.#subject })
      .catch((error: unknown) => {
        // No message on the subject yet.
        if ((error as { code?: number }).code === 10037) return null;
        throw error;
      });
    if (stored === null) {
      this.#lastSeq = 0;
      return undefined;
    }
    this.#lastSeq = stored.seq;
    try {
      return decodeDecision(stored.data);
    } catch {
      return undefined;
    }
  }

  /**
   * Appends `record`. Throws a `conflict` {@link CollectorError} when another writer appended
   * since this one last did (this replica must stop advancing the experiment).
   */
  async publish(record: DecisionRecord): Promise<void> {
    try {
      const ack = await this.#js.publish(this.#subject, encodeDecision(record), {
        msgID: decisionMessageId(record),
        expect: { lastSubjectSequence: this.#lastSeq },
      });
      if (ack.duplicate) await this.open();
      else this.#lastSeq = ack.seq;
    } catch (error) {
      if (!isCasConflict(error)) throw error;
      // Our own earlier append whose ack was lost looks the same as someone else's: look.
      const last = await this.open();
      if (last?.specHash === record.specHash && last.seq === record.seq) return;
      throw new CollectorError(
        CollectorErrorCode.Conflict,
        `decision log of ${record.experiment}: another writer appended (its last record is #${last?.seq ?? "?"}); this replica no longer advances the experiment`,
        { cause: error },
      );
    }
  }
}

/** What `GET /experiments/:name/decisions` answers. */
export interface DecisionsResponse {
  readonly experiment: string;
  /** Records on the subject (all versions). */
  readonly total: number;
  /** Records that could not be decoded (not written by a collector), skipped. */
  readonly unreadable: number;
  /** The newest `limit` records matching the filter, oldest first. */
  readonly records: readonly DecisionRecord[];
}

/**
 * Reads an experiment's decision log with an ordered consumer, keeping the newest `limit`
 * records (optionally of one spec version), oldest first.
 */
export async function readDecisions(
  js: JetStreamClient,
  jsm: JetStreamManager,
  experiment: string,
  options: { readonly limit: number; readonly specHash?: string; readonly timeoutMs?: number },
): Promise<DecisionsResponse> {
  const subject = Subjects.decisions(experiment);
  const info = await jsm.streams.info(Streams.decisions, { subjects_filter: subject });
  const total = info.state.subjects?.[subject] ?? 0;
  // A ring of the newest `limit` matches: the log can be far longer than what is asked for.
  const ring: DecisionRecord[] = [];
  let matched = 0;
  let unreadable = 0;
  if (total === 0) return { experiment, total, unreadable, records: [] };
  const consumer = await js.consumers.get(Streams.decisions, { filter_subjects: subject });
  const messages = await consumer.consume({ max_messages: 512 });
  const timer = setTimeout(() => void messages.close(), options.timeoutMs ?? 10_000);
  let seen = 0;
  try {
    for await (const m of messages) {
      seen += 1;
      try {
        const record = decodeDecision(m.data);
        if (options.specHash === undefined || record.specHash === options.specHash) {
          ring[matched % options.limit] = record;
          matched += 1;
        }
      } catch {
        unreadable += 1;
      }
      if (m.info.pending === 0 || seen >= total) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
  }
  if (seen < total) {
    throw new CollectorError(
      CollectorErrorCode.DeadlineExceeded,
      `decision log of ${experiment}: read ${seen} of ${total} records before the deadline`,
    );
  }
  const start = matched > options.limit ? matched % options.limit : 0;
  const records = [...ring.slice(start), ...ring.slice(0, start)];
  return { experiment, total, unreadable, records };
}
