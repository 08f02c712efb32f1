import { UmbraError } from "@umbra/protocol";
import type { VariantCaller } from "../engine/types.ts";
import type { RemoteVariant } from "../variants.ts";

/** Placeholder until the OIP client is wired in. */
export function createOipCaller(_variant: string, remote: RemoteVariant): VariantCaller {
  const unavailable = () =>
    Promise.reject(new UmbraError("unavailable", `OIP client for ${remote.address} not wired yet`));
  return { call: unavailable, isReady: async () => false, close: async () => {} };
}
