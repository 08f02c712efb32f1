import { type NatsConnection, RequestError, type Subscription } from "@nats-io/transport-node";
import { assertSubjectToken } from "@umbra/protocol";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";
import { type PromotionCommand, PromotionCommandKind } from "./advancer.ts";

/**
 * The subject a human command for `experiment` travels on, from the replica that received it
 * over HTTP to the replica that holds the experiment's lease (core NATS request/reply; only the
 * holder subscribes).
 */
export function controlSubject(experiment: string): string {
  return `umbra.control.${assertSubjectToken("experiment", experiment)}`;
}

interface ControlReply {
  readonly ok?: true;
  readonly status?: unknown;
  readonly error?: { readonly code: string; readonly message: string; readonly field?: string };
}

const KINDS = new Set<string>(Object.values(PromotionCommandKind));
const CODES = new Set<string>(Object.values(CollectorErrorCode));

function parseCommand(data: Uint8Array): PromotionCommand {
  const value = JSON.parse(new TextDecoder().decode(data)) as Partial<PromotionCommand> | null;
  if (
    value === null ||
    typeof value !== "object" ||
    typeof value.kind !== "string" ||
    !KINDS.has(value.kind) ||
    typeof value.actor !== "string" ||
    (value.variant !== undefined && typeof value.variant !== "string") ||
    (value.note !== undefined && typeof value.note !== "string")
  ) {
    throw CollectorError.invalid("command", "is not a promotion command");
  }
  return value as PromotionCommand;
}

/**
 * Answers commands for one experiment on its holder: runs `apply` and replies with `status()`
 * afterwards, or with the error (code, message, field). Returns the subscription to stop.
 */
export function serveControl(
  nc: NatsConnection,
  experiment: string,
  apply: (command: PromotionCommand) => Promise<void>,
  status: () => Promise<unknown>,
): Subscription {
  return nc.subscribe(controlSubject(experiment), {
    callback: (error, msg) => {
      if (error !== null) return;
      const reply = (body: ControlReply) => {
        msg.respond(JSON.stringify(body));
      };
      (async () => {
        await apply(parseCommand(msg.data));
        reply({ ok: true, status: await status() });
      })().catch((failure: unknown) => {
        const e = CollectorError.from(failure);
        reply({
          error: {
            code: e.code,
            message: e.message,
            ...(e.field === undefined ? {} : { field: e.field }),
          },
        });
      });
    },
  });
}

/**
 * Sends a command to the replica holding `experiment` and resolves the status it answers with;
 * the holder's error comes back as the same {@link CollectorError}.
 */
export async function sendControl(
  nc: NatsConnection,
  experiment: string,
  command: PromotionCommand,
  timeoutMs: number,
): Promise<unknown> {
  let data: Uint8Array;
  try {
    const msg = await nc.request(controlSubject(experiment), JSON.stringify(command), {
      timeout: timeoutMs,
    });
    data = msg.data;
  } catch (error) {
    if (error instanceof RequestError && error.isNoResponders()) {
      throw new CollectorError(
        CollectorErrorCode.Unavailable,
        `no replica advances ${experiment} right now (no registered spec, no UMBRA_FLAG_FILE, or its lease is moving); retry in a few seconds`,
        { cause: error },
      );
    }
    throw new CollectorError(
      CollectorErrorCode.DeadlineExceeded,
      `the replica holding ${experiment} did not answer within ${timeoutMs} ms`,
      { cause: error },
    );
  }
  const reply = JSON.parse(new TextDecoder().decode(data)) as ControlReply;
  if (reply.error !== undefined) {
    const code = CODES.has(reply.error.code)
      ? (reply.error.code as CollectorErrorCode)
      : CollectorErrorCode.Internal;
    throw new CollectorError(code, reply.error.message, {
      ...(reply.error.field === undefined ? {} : { field: reply.error.field }),
    });
  }
  return reply.status;
}
