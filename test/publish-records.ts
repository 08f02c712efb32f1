import type { JetStreamClient } from "@nats-io/jetstream";
import {
  encodeLabel,
  encodePair,
  type LabelRecord,
  type PairRecord,
  pairMessageId,
  Subjects,
} from "@umbra/protocol";

/**
 * Prefixes each record's request id with its experiment: the generator numbers requests from 0
 * in every experiment, and JetStream's dedupe id (`<requestId>:<variant>`) is stream-wide.
 */
export function* uniqueIds(records: Iterable<PairRecord>): Generator<PairRecord> {
  for (const r of records) yield { ...r, requestId: `${r.experiment}-${r.requestId}` };
}

/** A message to publish to JetStream. */
export interface Outgoing {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgID?: string;
}

/** The message of a pair record, with its dedupe id. */
export function pairMessage(record: PairRecord): Outgoing {
  return {
    subject: Subjects.pairs(record.experiment, record.variant),
    data: encodePair(record),
    msgID: pairMessageId(record.experiment, record.requestId, record.variant),
  };
}

/** The message of a label record. */
export function labelMessage(record: LabelRecord): Outgoing {
  return { subject: Subjects.labels(record.experiment), data: encodeLabel(record) };
}

/**
 * Publishes messages in order with at most `window` unacknowledged at a time (order is kept:
 * one connection, pipelined publishes) and resolves once JetStream acknowledged them all.
 */
export async function publishAll(
  js: JetStreamClient,
  messages: Iterable<Outgoing>,
  window = 128,
): Promise<number> {
  const pending = new Set<Promise<unknown>>();
  let n = 0;
  for (const m of messages) {
    const p = js.publish(m.subject, m.data, m.msgID === undefined ? {} : { msgID: m.msgID });
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    n += 1;
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
  return n;
}

/** GETs `url` and parses the JSON answer; throws on a non-2xx status. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${body}`);
  return JSON.parse(body) as T;
}
