import type { JetStreamClient } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { type DeadLetterKind, Subjects, type UmbraError } from "@umbra/protocol";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";

/** Headers of a dead-lettered message; its body is the original bytes, untouched. */
export const DeadLetterHeaders = {
  /** The subject the message was published on. */
  subject: "Umbra-Original-Subject",
  /** The stream it was read from. */
  stream: "Umbra-Original-Stream",
  /** Its sequence in that stream. */
  seq: "Umbra-Original-Seq",
  /** The error code: `invalid_argument` or `unsupported_version`. */
  code: "Umbra-Error-Code",
  /** The JSON pointer of the offending field, e.g. `/shadow/latencyMs`. */
  field: "Umbra-Error-Field",
  /** `"<field>: <rule>"`, the decoder's message. */
  message: "Umbra-Error-Message",
} as const;

/** The message being dead-lettered, as read from its stream. */
export interface DeadLetterSource {
  readonly subject: string;
  readonly stream: string;
  readonly seq: number;
  readonly data: Uint8Array;
}

/** Options of {@link publishDeadLetter}. */
export interface PublishDeadLetterOptions {
  /** Stops retrying (the partition is closing); the promise then rejects with `cancelled`. */
  readonly signal: AbortSignal;
  /** Pause between attempts while JetStream does not acknowledge. Default 200 ms. */
  readonly retryDelayMs?: number;
}

const MAX_HEADER_CHARS = 1_024;

/**
 * Publishes a record that failed to decode to `umbra.dlq.<kind>` with the reason in headers and
 * the original bytes as its body, and resolves once JetStream acknowledged it. Retries until
 * acknowledged or aborted; the message id `dlq:<stream>:<seq>` makes a retry (or a replay after
 * a crash) land once.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  kind: DeadLetterKind,
  source: DeadLetterSource,
  error: UmbraError | CollectorError,
  options: PublishDeadLetterOptions,
): Promise<void> {
  const h = headers();
  h.set(DeadLetterHeaders.subject, source.subject);
  h.set(DeadLetterHeaders.stream, source.stream);
  h.set(DeadLetterHeaders.seq, String(source.seq));
  h.set(DeadLetterHeaders.code, error.code);
  h.set(DeadLetterHeaders.field, headerValue(error.field ?? "(record)"));
  h.set(DeadLetterHeaders.message, headerValue(error.message));
  const msgID = `dlq:${source.stream}:${source.seq}`;
  const retryDelayMs = options.retryDelayMs ?? 200;
  for (;;) {
    if (options.signal.aborted) {
      throw new CollectorError(
        CollectorErrorCode.Cancelled,
        `dead letter of ${source.stream} seq ${source.seq}: abandoned, the partition is closing`,
      );
    }
    try {
      await js.publish(Subjects.deadLetters(kind), source.data, { msgID, headers: h });
      return;
    } catch {
      await pause(retryDelayMs, options.signal);
    }
  }
}

// Header values are single lines of visible text.
function headerValue(s: string): string {
  const flat = s.replace(/[\r\n]+/g, " ");
  return flat.length > MAX_HEADER_CHARS ? `${flat.slice(0, MAX_HEADER_CHARS - 1)}…` : flat;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
