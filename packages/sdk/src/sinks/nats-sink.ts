import { type JetStreamClient, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  type ExposureRecord,
  encodeExposure,
  encodePair,
  type PairRecord,
  pairMessageId,
  Streams,
  Subjects,
} from "@umbra/protocol";
import type { RecordSink, SinkStats } from "../engine/types.ts";
import { BoundedFifo } from "./bounded-fifo.ts";

/** How the NATS sink connects and how much it holds. */
export interface NatsSinkOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  /** Records held while NATS is slow or away; beyond it new records are refused and counted. Default 10 000. */
  readonly maxBufferedRecords?: number;
  /** JetStream publishes awaiting their ack at once. Default 256. */
  readonly maxPendingAcks?: number;
  /** How long one publish waits for its ack. Default 5 000 ms. */
  readonly publishTimeoutMs?: number;
  /** Create the pair and exposure streams when they do not exist. Default true. */
  readonly ensureStreams?: boolean;
  /** Client name shown by the NATS server. */
  readonly name?: string;
  /** Called with contained failures (connect errors, invalid records), for logging. */
  readonly onError?: (error: unknown, context: string) => void;
}

interface Outgoing {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgID: string;
}

const TWO_MINUTES_NS = 120_000_000_000;

/**
 * A {@link RecordSink} publishing to JetStream with message ids for dedupe (`<requestId>:<variant>`),
 * a bounded window of publishes awaiting acks, and a bounded buffer. It never throws and never
 * blocks: during a NATS outage it buffers up to its bound, then refuses and counts; when the
 * connection comes back it resumes, oldest first. It connects in the background, so a NATS that
 * is down at start-up delays no one.
 */
export function createNatsSink(options: NatsSinkOptions): RecordSink {
  const buffer = new BoundedFifo<Outgoing>(options.maxBufferedRecords ?? 10_000);
  const maxPending = options.maxPendingAcks ?? 256;
  const timeout = options.publishTimeoutMs ?? 5_000;
  const onError = options.onError ?? (() => {});
  let nc: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  let pending = 0;
  let published = 0;
  let invalid = 0;
  let publishFailures = 0;
  let paused = false;
  let closing = false;
  let resumeTimer: NodeJS.Timeout | undefined;
  const idleWaiters = new Set<() => void>();

  const ready = (async () => {
    // Our own connect loop rather than waitOnFirstConnect: each attempt fails fast while NATS is
    // down, and the wait between attempts is an unref'd timer, so closing (or exiting) is never held.
    for (let attempt = 0; !closing; attempt++) {
      try {
        const conn = await connect({
          servers: typeof options.servers === "string" ? options.servers : [...options.servers],
          name: options.name ?? "umbra-sdk",
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
        });
        if (closing) {
          await conn.close();
          return;
        }
        nc = conn;
        if (options.ensureStreams !== false)
          await ensureStreams(conn).catch((e: unknown) => onError(e, "ensure streams"));
        js = jetstream(conn);
        void watchStatus(conn);
        pump();
        return;
      } catch (error) {
        if (attempt === 0 || attempt % 20 === 0) onError(error, "connect");
        await new Promise<void>((resolve) =>
          setTimeout(resolve, Math.min(250 * 2 ** attempt, 2_000)).unref(),
        );
      }
    }
  })();

  async function watchStatus(conn: NatsConnection): Promise<void> {
    for await (const s of conn.status()) {
      if (s.type === "reconnect") resume();
    }
  }

  function resume(): void {
    paused = false;
    if (resumeTimer !== undefined) clearTimeout(resumeTimer);
    resumeTimer = undefined;
    pump();
  }

  function pauseAfterFailure(): void {
    if (paused) return;
    paused = true;
    // Resume on the next reconnect, or after a second if the connection never dropped (a slow server).
    resumeTimer = setTimeout(resume, 1_000);
    resumeTimer.unref();
  }

  function settleIdle(): void {
    if (buffer.length === 0 && pending === 0) {
      for (const resolve of idleWaiters) resolve();
      idleWaiters.clear();
    }
  }

  function pump(): void {
    if (js === undefined || paused) return;
    while (pending < maxPending && buffer.length > 0) {
      const item = buffer.shift() as Outgoing;
      pending++;
      js.publish(item.subject, item.data, { msgID: item.msgID, timeout }).then(
        () => {
          pending--;
          published++;
          pump();
          settleIdle();
        },
        (error: unknown) => {
          pending--;
          publishFailures++;
          // Not a retry of the shadow call: the record is evidence, and the msg id makes a second
          // publish of the same record a no-op on the server.
          buffer.unshift(item);
          if (publishFailures === 1 || publishFailures % 1_000 === 0) onError(error, "publish");
          pauseAfterFailure();
        },
      );
    }
  }

  function enqueue(item: Outgoing): void {
    buffer.push(item);
    pump();
  }

  return {
    publishPair(record: PairRecord) {
      let data: Uint8Array;
      try {
        data = encodePair(record);
      } catch (error) {
        invalid++;
        onError(error, "invalid pair record");
        return;
      }
      enqueue({
        subject: Subjects.pairs(record.experiment, record.variant),
        data,
        msgID: pairMessageId(record.experiment, record.requestId, record.variant),
      });
    },
    publishExposure(record: ExposureRecord) {
      let data: Uint8Array;
      try {
        data = encodeExposure(record);
      } catch (error) {
        invalid++;
        onError(error, "invalid exposure record");
        return;
      }
      enqueue({
        subject: Subjects.exposures(record.experiment),
        data,
        msgID: `${record.sdkInstanceId}:${record.seq}`,
      });
    },
    stats(): SinkStats {
      return {
        published,
        buffered: buffer.length,
        pendingAcks: pending,
        droppedBufferFull: buffer.refused,
        invalid,
        publishFailures,
      };
    },
    async flush(timeoutMs: number) {
      if (buffer.length === 0 && pending === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          idleWaiters.delete(resolve);
          resolve();
        }, timeoutMs);
        idleWaiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    async close() {
      closing = true;
      if (resumeTimer !== undefined) clearTimeout(resumeTimer);
      await Promise.race([ready, new Promise((r) => setTimeout(r, 100))]);
      await nc?.close();
    },
  };
}

async function ensureStreams(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const [name, subject] of [
    [Streams.pairs, Subjects.wildcard.pairs],
    [Streams.exposures, Subjects.wildcard.exposures],
  ] as const) {
    try {
      await jsm.streams.info(name);
    } catch {
      try {
        await jsm.streams.add({
          name,
          subjects: [subject],
          storage: StorageType.File,
          duplicate_window: TWO_MINUTES_NS,
        });
      } catch {
        // Another SDK instance or the collector created it meanwhile.
      }
    }
  }
}
