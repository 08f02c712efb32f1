import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";

/** What a lease entry holds. */
export interface LeaseValue {
  /** The replica id that holds the lease. */
  readonly owner: string;
  /** The holder's incarnation (one per process start), so a restarted replica recognises its own lease. */
  readonly incarnation: string;
  /** When the holder acquired it (holder's clock), ms since the epoch. */
  readonly sinceMs: number;
}

/** Options of {@link LeaseManager}. */
export interface LeaseManagerOptions {
  readonly kv: KV;
  readonly replicaId: string;
  readonly incarnation: string;
  readonly now: () => number;
}

/**
 * Per-experiment leases in a KV bucket with a bucket-level TTL: `create` takes a free lease,
 * `update` with the last revision renews it (compare-and-swap), and a lease whose holder stops
 * renewing disappears when its last write ages past the TTL. A replica restarted under the same
 * id takes over its previous incarnation's leases at once instead of waiting for the TTL.
 */
export class LeaseManager {
  readonly #kv: KV;
  readonly #replicaId: string;
  readonly #incarnation: string;
  readonly #now: () => number;
  readonly #held = new Map<string, { revision: number; value: LeaseValue }>();

  constructor(options: LeaseManagerOptions) {
    this.#kv = options.kv;
    this.#replicaId = options.replicaId;
    this.#incarnation = options.incarnation;
    this.#now = options.now;
  }

  /** The experiments whose lease this replica holds, with the lease revision. */
  held(): ReadonlyMap<string, number> {
    return new Map([...this.#held].map(([k, v]) => [k, v.revision]));
  }

  /** Who holds the lease of `experiment`, if anyone. */
  async holder(experiment: string): Promise<LeaseValue | undefined> {
    const entry = await this.#kv.get(leaseKey(experiment));
    if (entry === null || entry.operation !== "PUT") return undefined;
    return entry.json<LeaseValue>();
  }

  /** Tries to take the lease of `experiment`; resolves its revision, or `undefined` if another replica holds it. */
  async acquire(experiment: string): Promise<number | undefined> {
    const mine = this.#held.get(experiment);
    if (mine !== undefined) return mine.revision;
    const key = leaseKey(experiment);
    const value: LeaseValue = {
      owner: this.#replicaId,
      incarnation: this.#incarnation,
      sinceMs: this.#now(),
    };
    const data = JSON.stringify(value);
    try {
      const entry = await this.#kv.get(key);
      let revision: number;
      if (entry === null || entry.operation !== "PUT") {
        revision = await this.#kv.create(key, data);
      } else {
        const current = entry.json<LeaseValue>();
        if (current.owner !== this.#replicaId) return undefined;
        revision = await this.#kv.update(key, data, entry.revision);
      }
      this.#held.set(experiment, { revision, value });
      return revision;
    } catch (error) {
      if (isCasConflict(error)) return undefined;
      throw error;
    }
  }

  /**
   * Renews every held lease with compare-and-swap and resolves the experiments whose lease was
   * lost (taken over or expired): the caller must stop working on them.
   */
  async renew(): Promise<string[]> {
    const lost: string[] = [];
    for (const [experiment, lease] of this.#held) {
      try {
        const revision = await this.#kv.update(
          leaseKey(experiment),
          JSON.stringify(lease.value),
          lease.revision,
        );
        lease.revision = revision;
      } catch (error) {
        if (!isCasConflict(error)) throw error;
        this.#held.delete(experiment);
        lost.push(experiment);
      }
    }
    return lost;
  }

  /**
   * Whether the lease of `experiment` is still the one this replica last wrote (same KV
   * revision): the fence checked right before a side effect only the holder may make.
   */
  async confirm(experiment: string): Promise<boolean> {
    const mine = this.#held.get(experiment);
    if (mine === undefined) return false;
    const entry = await this.#kv.get(leaseKey(experiment));
    return entry !== null && entry.operation === "PUT" && entry.revision === mine.revision;
  }

  /** Gives up the lease of `experiment` (only if still ours), so another replica can take it at once. */
  async release(experiment: string): Promise<void> {
    const lease = this.#held.get(experiment);
    if (lease === undefined) return;
    this.#held.delete(experiment);
    try {
      await this.#kv.delete(leaseKey(experiment), { previousSeq: lease.revision });
    } catch (error) {
      if (!isCasConflict(error)) throw error;
    }
  }

  /** Forgets a lease without touching the bucket (it was lost). */
  forget(experiment: string): void {
    this.#held.delete(experiment);
  }

  /** Announces this replica as alive; presence entries expire with the bucket TTL. */
  async announce(): Promise<void> {
    await this.#kv.put(
      presenceKey(this.#replicaId),
      JSON.stringify({ incarnation: this.#incarnation, atMs: this.#now() }),
    );
  }

  /** Removes this replica's presence entry (graceful shutdown). */
  async withdraw(): Promise<void> {
    await this.#kv.delete(presenceKey(this.#replicaId));
  }

  /** How many replicas announced themselves within the lease TTL (at least 1: this one). */
  async aliveReplicas(): Promise<number> {
    let n = 0;
    for await (const _key of await this.#kv.keys("replica.*")) n += 1;
    return Math.max(1, n);
  }
}

function leaseKey(experiment: string): string {
  return `exp.${experiment}`;
}

function presenceKey(replicaId: string): string {
  return `replica.${replicaId.replaceAll(".", "_")}`;
}

/** Whether a KV write failed because the key's revision was not the expected one. */
export function isCasConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
