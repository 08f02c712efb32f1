import type { ParameterValue } from "@umbra/proto";
import type { ModelContext } from "../model.ts";

/** A model context as the server builds one, for calling reference models directly in tests. */
export function testContext(
  options: {
    parameters?: Record<string, ParameterValue>;
    signal?: AbortSignal;
    requestId?: string;
  } = {},
): ModelContext {
  return {
    requestId: options.requestId ?? "test",
    model: "test",
    signal: options.signal ?? new AbortController().signal,
    isShadow: false,
    parameters: options.parameters ?? {},
    metadata: {},
    tensors: [],
    setResponseParameter: () => undefined,
  };
}
