import { connectNats, createTrafficSource, startNats, waitFor } from "@umbra/testing";

// A private nats-server: free port, JetStream, temp store dir; stopped by its PID at scope exit.
await using nats = await startNats();
const nc = await connectNats(nats.url);
try {
  const received: string[] = [];
  nc.subscribe("demo.requests", {
    callback: (_error, msg) => {
      received.push(msg.string());
    },
  });

  // Reproducible traffic: the same seed gives the same request ids on every run.
  const traffic = createTrafficSource({ seed: 42 });
  for (const request of traffic.take(3)) nc.publish("demo.requests", request.requestId);

  // Poll with a deadline instead of sleeping.
  await waitFor(() => received.length === 3, { timeoutMs: 5_000, message: "3 requests received" });
  console.log(`received ${received.length} requests, the first is ${received[0]}`);
} finally {
  await nc.close();
}
