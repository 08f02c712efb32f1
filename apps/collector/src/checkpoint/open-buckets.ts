import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

/** Names of the KV buckets the collector keeps its shared state in. */
export const Buckets = {
  /** One checkpoint per experiment: stream positions and aggregate state, written with CAS. */
  checkpoints: "umbra-checkpoints",
  /** One lease per experiment and one presence key per replica; entries expire after the lease TTL. */
  leases: "umbra-leases",
  /** Experiment specs registered from files or over HTTP. */
  specs: "umbra-specs",
} as const;

/** The collector's KV buckets, opened by {@link openBuckets}. */
export interface CollectorBuckets {
  readonly checkpoints: KV;
  readonly leases: KV;
  readonly specs: KV;
}

/** Options of {@link openBuckets}. */
export interface OpenBucketsOptions {
  /** Lease lifetime without a heartbeat: the bucket-level TTL of `umbra-leases`, in ms. */
  readonly leaseTtlMs: number;
  /** Bucket replicas in a cluster. */
  readonly replicas: number;
}

/**
 * Creates (or opens) the collector's KV buckets. Leases rely on the bucket-level TTL because
 * nats-server 2.9 has no per-key TTL: a replica that stops heartbeating loses its leases when
 * their last write ages out.
 */
export async function openBuckets(
  nc: NatsConnection,
  options: OpenBucketsOptions,
): Promise<CollectorBuckets> {
  const kvm = new Kvm(nc);
  const open = async (name: string, opts: Parameters<Kvm["create"]>[1]) => {
    try {
      return await kvm.create(name, opts);
    } catch {
      // The bucket exists with other settings (an operator changed them): use it as it is.
      return await kvm.open(name);
    }
  };
  const [checkpoints, leases, specs] = await Promise.all([
    open(Buckets.checkpoints, { history: 1, replicas: options.replicas }),
    open(Buckets.leases, { history: 1, ttl: options.leaseTtlMs, replicas: options.replicas }),
    open(Buckets.specs, { history: 5, replicas: options.replicas }),
  ]);
  return { checkpoints, leases, specs };
}
