import type { ExposureRecord, PairRecord } from "@umbra/protocol";
import { encodeExposure, encodePair } from "@umbra/protocol";
import type { RecordSink, SinkStats } from "../engine/types.ts";

/** An in-memory {@link RecordSink}: keeps up to `maxRecords` validated records; for tests and local runs. */
export interface MemorySink extends RecordSink {
  readonly pairs: PairRecord[];
  readonly exposures: ExposureRecord[];
}

/**
 * Creates an in-memory sink. Records are validated with the same codec as the NATS sink (an
 * invalid record is counted, not kept), so a test on this sink sees what NATS would have carried.
 */
export function createMemorySink(options: { readonly maxRecords?: number } = {}): MemorySink {
  const max = options.maxRecords ?? 1_000_000;
  const pairs: PairRecord[] = [];
  const exposures: ExposureRecord[] = [];
  let dropped = 0;
  let invalid = 0;
  const keep = <T>(list: T[], record: T, encode: (r: T) => Uint8Array) => {
    try {
      encode(record);
    } catch {
      invalid++;
      return;
    }
    if (pairs.length + exposures.length >= max) dropped++;
    else list.push(record);
  };
  return {
    pairs,
    exposures,
    publishPair: (r) => keep(pairs, r, encodePair),
    publishExposure: (r) => keep(exposures, r, encodeExposure),
    stats: (): SinkStats => ({
      published: pairs.length + exposures.length,
      buffered: 0,
      pendingAcks: 0,
      droppedBufferFull: dropped,
      invalid,
      publishFailures: 0,
    }),
    flush: async () => {},
    close: async () => {},
  };
}
