import { createOipClient } from "@umbra/proto";
import { createClassifier, isShadow, serveVariant } from "@umbra/variant";

// Serve two models on a free port of 127.0.0.1: a reference classifier over 8 features, and a
// function of your own that takes a JSON-like input.
const server = await serveVariant({
  models: {
    ranker: createClassifier({ classes: ["skip", "show"] }),
    greeter: (input: { name: string }) => ({
      text: `hello ${input.name}${isShadow() ? " (shadow)" : ""}`,
    }),
  },
});

// Call them as Umbra's SDK does: over the Mirror stream, marked as a shadow call.
const ranker = createOipClient({ address: server.address, model: "ranker", transport: "stream" });
const greeter = createOipClient({ address: server.address, model: "greeter" });
try {
  const features = new Float32Array([0.2, 0.1, -0.3, 0.8, 0, 0.5, -0.1, 0.9]);
  const ranked = await ranker.infer(features, { requestId: "req-1", shadow: true });
  const greeted = await greeter.infer({ name: "Ada" }, { requestId: "req-1", shadow: true });
  console.log(`ranker: ${ranked.output.label}; greeter: ${greeted.output.text}`);
  console.log(`side effects blocked: ${ranked.sideEffectAttempts}`);
} finally {
  await ranker.close();
  await greeter.close();
  await server.close();
}
