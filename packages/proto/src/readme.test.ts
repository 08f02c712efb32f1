import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, it, vi } from "vitest";
import { answer, startTestServer, type TestServer } from "./internal/test-oip-server.ts";

const read = (relative: string) => readFile(new URL(relative, import.meta.url), "utf8");
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe("README", () => {
  it("shows exactly the quick start in examples/quick-start.ts", async () => {
    const readme = await read("../README.md");
    const section = readme.slice(readme.indexOf("## Quick start"));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(await read("../examples/quick-start.ts"));
  });

  it("runs the quick start against a real OIP server", async () => {
    const server = await startTestServer((request) => answer(request));
    servers.push(server);
    process.env.OIP_ADDRESS = server.address;
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      await import("../examples/quick-start.ts");
      expect(error).not.toHaveBeenCalled();
      expect(log).toHaveBeenCalledWith("req-42: for req-42 0.25, 0.75");
      const [{ request, metadata }] = server.received as [TestServer["received"][number]];
      expect(metadata["x-umbra-shadow"]).toBe("1");
      expect(request.parameters?.umbra_variant?.string_param).toBe("B");
    } finally {
      log.mockRestore();
      error.mockRestore();
      delete process.env.OIP_ADDRESS;
    }
  });
});
