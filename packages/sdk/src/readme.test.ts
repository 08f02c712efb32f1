// Runs the README's quick start as written, with its addresses pointed at a private stack: a
// nats-server, a flag file served over flagd.sync.v1, and two real variant servers.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { serveFlagSync, watchFlagFile } from "@umbra/proto";
import { buildExperimentFlag, buildFlagFile, decodePair, Streams } from "@umbra/protocol";
import { connectJetStream, createFlagFileFixture, startNats } from "@umbra/testing";
import { serveVariant } from "@umbra/variant";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

describe("README quick start", () => {
  it("runs as written and mirrors its request to A and B", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const code = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();

    await using nats = await startNats();
    await using flags = await createFlagFileFixture(
      buildFlagFile({
        "umbra.ranker": buildExperimentFlag({
          experiment: "ranker",
          live: "prod",
          revision: 1,
          candidates: [
            { variant: "A", sampleBasisPoints: 10_000 },
            { variant: "B", sampleBasisPoints: 10_000 },
          ],
        }),
      }),
    );
    const watched = await watchFlagFile(flags.path);
    const sync = await serveFlagSync({ source: watched });
    const model = (input: { items: number }) => ({ label: input.items > 3 ? "long" : "short" });
    const a = await serveVariant({ models: { "ranker-a": model }, port: 0 });
    const b = await serveVariant({ models: { "ranker-b": model }, port: 0 });
    const dir = join(root, ".readme");
    try {
      const runnable = (code as string)
        .replace("port: 8015 }", `port: ${sync.port} }`)
        .replace('"nats://127.0.0.1:4222"', JSON.stringify(nats.url))
        .replace('"10.0.0.7:8001"', JSON.stringify(a.address))
        .replace('"10.0.0.8:8001"', JSON.stringify(b.address))
        .concat("\nexport { answer };\n");
      expect(runnable).not.toContain("10.0.0.7");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "quick-start.ts"), runnable);
      const { answer } = (await import(join(dir, "quick-start.ts"))) as { answer: unknown };
      expect(answer).toEqual({ label: "long", scores: [0.9, 0.1] });

      const conn = await connectJetStream(nats.url);
      await conn.jsm.consumers.add(Streams.pairs, {
        durable_name: "readme",
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
      });
      const consumer = await conn.js.consumers.get(Streams.pairs, "readme");
      const variants: string[] = [];
      for await (const m of await consumer.consume()) {
        const pair = decodePair(m.data);
        expect(pair.shadow).toMatchObject({ outcome: "ok", output: { label: "long" } });
        variants.push(pair.variant);
        if (variants.length === 2) break;
      }
      expect(variants.sort()).toEqual(["A", "B"]);
      await conn.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await Promise.all([a.close(), b.close(), sync.close()]);
      watched.close();
    }
  });
});
