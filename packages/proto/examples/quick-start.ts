import { createOipClient, encodeModelInput } from "@umbra/proto";
import { UmbraError } from "@umbra/protocol";

// Any Open Inference Protocol server: Triton, KServe, MLServer, OpenVINO Model Server, or
// `npx umbra-variant --reference classifier --port 8001`.
const address = process.env.OIP_ADDRESS ?? "127.0.0.1:8001";
const client = createOipClient({ address, model: "classifier", deadlineMs: 500 });
try {
  if (!(await client.isReady())) throw new Error(`classifier at ${address} is not ready`);
  // Encode once; the same bytes can go to every variant.
  const input = encodeModelInput(new Float32Array([0.3, -1.2, 0.8, 0.05, 2.1, -0.4, 0.9, -0.7]));
  const result = await client.inferEncoded(input, {
    requestId: "req-42",
    shadow: true,
    experiment: "ranker",
    variant: "B",
  });
  console.log(
    `${result.id}: ${result.output.label} ${[...(result.output.scores ?? [])].join(", ")}`,
  );
} catch (error) {
  const e = UmbraError.from(error);
  // Branch on the code: deadline_exceeded, unavailable, not_found, invalid_argument, internal, ...
  console.error(`${e.code}: ${e.message}`);
} finally {
  await client.close();
}
