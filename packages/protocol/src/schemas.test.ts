// The JSON Schemas in packages/protocol/schemas/ are what docs/protocol.md publishes for
// consumers in other languages. They are generated from the TypeBox definitions; this test fails
// when the two drift. Regenerate with UMBRA_WRITE_FIXTURES=1.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordSchemas } from "./records.ts";
import { ExperimentSpecSchema } from "./spec.ts";

const dir = join(import.meta.dirname, "..", "schemas");
const published = { ...RecordSchemas, "experiment-spec": ExperimentSpecSchema };

describe("published JSON Schemas", () => {
  for (const [name, schema] of Object.entries(published)) {
    it(`schemas/${name}.schema.json matches the TypeBox definition`, () => {
      const text = `${JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...schema }, null, 2)}\n`;
      const path = join(dir, `${name}.schema.json`);
      if (process.env.UMBRA_WRITE_FIXTURES === "1") writeFileSync(path, text);
      expect(readFileSync(path, "utf8")).toBe(text);
    });
  }
});
