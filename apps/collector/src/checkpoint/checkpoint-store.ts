import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { deflateRaw, inflateRaw } from "node:zlib";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { CollectorError, CollectorErrorCode } from "../collector-error.ts";

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/** A checkpoint as read back by {@link CheckpointStore.read}. */
export interface StoredCheckpoint {
  /** The KV revision of the head entry: the compare-and-swap token of the next write. */
  readonly revision: number;
  /** The replica that wrote it. */
  readonly owner: string;
  /** When it was written (writer's clock), ms since the epoch. */
  readonly writtenAtMs: number;
  /** The state, as the JSON text that was written. */
  readonly json: string;
}

interface Head {
  readonly format: 1;
  readonly owner: string;
  readonly writtenAtMs: number;
  /** Generation of the chunk keys, when the state did not fit in the head. */
  readonly gen: string;
  readonly chunks: number;
  readonly sizeBytes: number;
}

/** Options of {@link CheckpointStore}. */
export interface CheckpointStoreOptions {
  /** The largest value the server accepts (`max_payload`); chunks stay 4 KiB below it. */
  readonly maxPayloadBytes: number;
}

const HEADER_LENGTH_BYTES = 4;
const CHUNK_MARGIN_BYTES = 4_096;
const READ_ATTEMPTS = 3;

/**
 * Checkpoints in a JetStream KV bucket, one per experiment, each written with compare-and-swap on
 * the KV revision so a replica holding a stale view can never overwrite a newer checkpoint.
 *
 * The state is deflated. A state larger than one NATS message goes into immutable chunk keys of a
 * fresh generation first; the head entry, written last with CAS, is the commit point that names
 * the generation. A crash between the two leaves unreferenced chunks, which
 * {@link CheckpointStore.purgeOrphans} removes; it never leaves a head pointing at missing data.
 */
export class CheckpointStore {
  readonly #kv: KV;
  readonly #chunkBytes: number;
  // Chunk generation this store last committed per experiment, purged after the next commit.
  readonly #committedGen = new Map<string, string>();

  constructor(kv: KV, options: CheckpointStoreOptions) {
    this.#kv = kv;
    this.#chunkBytes = Math.max(1_024, options.maxPayloadBytes - CHUNK_MARGIN_BYTES);
  }

  /** Reads the checkpoint of `experiment`, or `undefined` when there is none. */
  async read(experiment: string): Promise<StoredCheckpoint | undefined> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.#kv.get(headKey(experiment));
      if (entry === null || entry.operation !== "PUT") return undefined;
      const { head, inline } = decodeHead(entry.value);
      let compressed: Uint8Array | undefined = inline;
      if (head.chunks > 0) {
        const parts: Uint8Array[] = [];
        for (let i = 0; i < head.chunks; i++) {
          const chunk = await this.#kv.get(chunkKey(experiment, head.gen, i));
          if (chunk === null || chunk.operation !== "PUT") break;
          parts.push(chunk.value);
        }
        compressed = parts.length === head.chunks ? Buffer.concat(parts) : undefined;
      }
      if (compressed === undefined || compressed.byteLength !== head.sizeBytes) {
        // A newer head replaced this generation while we read it: read the newer one.
        if (attempt >= READ_ATTEMPTS) {
          throw new CollectorError(
            CollectorErrorCode.Unavailable,
            `checkpoint of ${experiment}: chunks of generation ${head.gen} kept changing while read`,
          );
        }
        continue;
      }
      const json = (await inflate(compressed)).toString("utf8");
      return { revision: entry.revision, owner: head.owner, writtenAtMs: head.writtenAtMs, json };
    }
  }

  /**
   * Writes `json` as the checkpoint of `experiment` if the head is still at `expectedRevision`
   * (`undefined`: there must be no checkpoint yet) and returns the new revision. Throws a
   * `conflict` {@link CollectorError} when another writer got there first.
   */
  async write(
    experiment: string,
    json: string,
    expectedRevision: number | undefined,
    owner: string,
    nowMs: number,
  ): Promise<number> {
    const compressed = await deflate(Buffer.from(json, "utf8"));
    const fitsInline = compressed.byteLength + 512 <= this.#chunkBytes;
    const gen = fitsInline ? "" : randomBytes(6).toString("hex");
    const chunks = fitsInline ? 0 : Math.ceil(compressed.byteLength / this.#chunkBytes);
    for (let i = 0; i < chunks; i++) {
      const part = compressed.subarray(i * this.#chunkBytes, (i + 1) * this.#chunkBytes);
      await this.#kv.put(chunkKey(experiment, gen, i), part);
    }
    const head: Head = {
      format: 1,
      owner,
      writtenAtMs: nowMs,
      gen,
      chunks,
      sizeBytes: compressed.byteLength,
    };
    const value = encodeHead(head, fitsInline ? compressed : undefined);
    let revision: number;
    try {
      revision =
        expectedRevision === undefined
          ? await this.#kv.create(headKey(experiment), value)
          : await this.#kv.update(headKey(experiment), value, expectedRevision);
    } catch (error) {
      if (
        error instanceof JetStreamApiError &&
        (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
          error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
      ) {
        throw new CollectorError(
          CollectorErrorCode.Conflict,
          `checkpoint of ${experiment}: another writer moved it past revision ${expectedRevision ?? 0}`,
          { cause: error },
        );
      }
      throw error;
    }
    const previous = this.#committedGen.get(experiment);
    this.#committedGen.set(experiment, gen);
    if (previous !== undefined && previous !== "" && previous !== gen) {
      for (let i = 0; ; i++) {
        const key = chunkKey(experiment, previous, i);
        if ((await this.#kv.get(key)) === null) break;
        await this.#kv.purge(key);
      }
    }
    return revision;
  }

  /** Removes chunk keys of `experiment` that the current head does not reference. */
  async purgeOrphans(experiment: string): Promise<number> {
    const entry = await this.#kv.get(headKey(experiment));
    const gen = entry?.operation === "PUT" ? decodeHead(entry.value).head.gen : undefined;
    const orphans: string[] = [];
    for await (const key of await this.#kv.keys(`chunk.${experiment}.>`)) {
      if (key.split(".")[2] !== gen) orphans.push(key);
    }
    for (const key of orphans) await this.#kv.purge(key);
    return orphans.length;
  }

  /** The experiments that have a checkpoint. */
  async experiments(): Promise<string[]> {
    const names: string[] = [];
    for await (const key of await this.#kv.keys("exp.*")) names.push(key.slice(4));
    return names.sort();
  }
}

function headKey(experiment: string): string {
  return `exp.${experiment}`;
}

function chunkKey(experiment: string, gen: string, index: number): string {
  return `chunk.${experiment}.${gen}.${index}`;
}

function encodeHead(head: Head, inline: Uint8Array | undefined): Uint8Array {
  const header = Buffer.from(JSON.stringify(head), "utf8");
  const out = Buffer.allocUnsafe(
    HEADER_LENGTH_BYTES + header.byteLength + (inline?.byteLength ?? 0),
  );
  out.writeUInt32BE(header.byteLength, 0);
  header.copy(out, HEADER_LENGTH_BYTES);
  if (inline !== undefined) out.set(inline, HEADER_LENGTH_BYTES + header.byteLength);
  return out;
}

function decodeHead(value: Uint8Array): { head: Head; inline: Uint8Array | undefined } {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const length = buf.readUInt32BE(0);
  const head = JSON.parse(
    buf.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + length).toString("utf8"),
  ) as Head;
  if (head.format !== 1) {
    throw new CollectorError(
      CollectorErrorCode.Internal,
      `checkpoint head format ${String(head.format)} is not one this build reads`,
    );
  }
  const inline = head.chunks === 0 ? buf.subarray(HEADER_LENGTH_BYTES + length) : undefined;
  return { head, inline };
}
