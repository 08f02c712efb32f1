import { describe, expect, it } from "vitest";
import { listeningLine } from "./demo-stack.ts";

describe("listeningLine", () => {
  it("reads the collector's URL and flag sync address from its pino line", () => {
    const out = [
      '{"level":30,"msg":"collector started"}',
      '{"level":30,"url":"http://127.0.0.1:4100","flagSync":"127.0.0.1:4101","readOnly":false,"msg":"listening"}',
    ].join("\n");
    expect(listeningLine(out)).toEqual({
      url: "http://127.0.0.1:4100",
      flagSync: "127.0.0.1:4101",
    });
  });

  it("says there is no flag sync when the collector serves none", () => {
    expect(
      listeningLine('{"url":"http://127.0.0.1:4100","flagSync":null,"msg":"listening"}\n'),
    ).toEqual({ url: "http://127.0.0.1:4100", flagSync: undefined });
  });

  it("waits for a complete line", () => {
    expect(listeningLine('{"url":"http://127.0.0.1:4100","msg":"listen')).toBeUndefined();
    expect(listeningLine('{"url":"http://127.0.0.1:4100","msg":"listening"')).toBeUndefined();
  });
});
