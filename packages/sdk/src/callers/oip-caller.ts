import { createOipClient } from "@umbra/proto";
import { REQUEST_ID_HEADER, SHADOW_HEADER, TRACEPARENT_HEADER } from "@umbra/protocol";
import type { VariantCaller } from "../engine/types.ts";
import type { RemoteVariant } from "../variants.ts";

/**
 * A {@link VariantCaller} over the Open Inference Protocol (`@umbra/proto`'s client): unary
 * `ModelInfer` or one long-lived `umbra.v1.Mirror` stream, the deadline per call, never a retry.
 * The input bytes encoded once on the request thread are sent as they are.
 */
export function createOipCaller(variant: string, remote: RemoteVariant): VariantCaller {
  const client = createOipClient({
    address: remote.address,
    model: remote.model,
    transport: remote.transport,
    // The lane bounds what is in flight; the client's own cap only guards against misuse.
    maxInFlight: 4_096,
  });
  return {
    async call(call) {
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata)) {
        if (k !== SHADOW_HEADER && k !== REQUEST_ID_HEADER && k !== TRACEPARENT_HEADER)
          metadata[k] = v;
      }
      const traceparent = call.metadata[TRACEPARENT_HEADER];
      const result = await client.inferEncoded(call.input, {
        requestId: call.requestId,
        deadlineMs: call.deadlineMs,
        experiment: call.experiment,
        variant,
        shadow: call.metadata[SHADOW_HEADER] === "1",
        metadata,
        ...(traceparent === undefined ? {} : { traceparent }),
      });
      return {
        output: result.output,
        sideEffectAttempts: result.sideEffectAttempts ?? 0,
        ...(result.cacheHit === undefined ? {} : { cacheHit: result.cacheHit }),
      };
    },
    isReady: () => client.isReady({ deadlineMs: 1_000 }),
    close: () => client.close(),
  };
}
