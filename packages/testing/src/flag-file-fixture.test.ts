import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertValidFlagFile,
  buildExperimentFlag,
  buildFlagFile,
  readExperimentFlag,
} from "@umbra/protocol";
import { describe, expect, it } from "vitest";
import { createFlagFileFixture, writeFlagFile } from "./flag-file-fixture.ts";

const killSwitch = {
  $schema: "https://flagd.dev/schema/v0/flags.json",
  flags: {
    "umbra.ranker": {
      state: "ENABLED" as "ENABLED" | "DISABLED",
      variants: { shadow: { live: "prod", mirror: [] as string[] } },
      defaultVariant: "shadow",
    },
  },
};

describe("writeFlagFile", () => {
  it("writes the flag file as JSON and leaves no temp file behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "umbra-flag-test-"));
    try {
      const path = await writeFlagFile(dir, killSwitch);
      expect(path).toBe(join(dir, "flags.flagd.json"));
      expect(JSON.parse(await readFile(path, "utf8"))).toEqual(killSwitch);
      expect(await readdir(dir)).toEqual(["flags.flagd.json"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects what flagd would not read, naming the field", async () => {
    await expect(writeFlagFile(tmpdir(), { flags: [] })).rejects.toThrow(
      /flagFile\.flags: must be an object/,
    );
    await expect(writeFlagFile(tmpdir(), killSwitch, "../escape.json")).rejects.toThrow(/fileName/);
  });
});

describe("createFlagFileFixture", () => {
  it("writes the initial file, updates it atomically, and removes its directory on close", async () => {
    const fixture = await createFlagFileFixture(killSwitch);
    expect(JSON.parse(await readFile(fixture.path, "utf8"))).toEqual(killSwitch);

    const next = await fixture.update((draft) => {
      draft.flags["umbra.ranker"].state = "DISABLED";
    });
    expect(next.flags["umbra.ranker"].state).toBe("DISABLED");
    expect(await fixture.read()).toMatchObject({
      flags: { "umbra.ranker": { state: "DISABLED" } },
    });
    expect(fixture.writes).toBe(2);
    expect(await readdir(fixture.dir)).toEqual(["flags.flagd.json"]);
    expect(killSwitch.flags["umbra.ranker"].state).toBe("ENABLED");

    await fixture.close();
    expect(existsSync(fixture.dir)).toBe(false);
    await fixture.close();
    await expect(fixture.write(killSwitch)).rejects.toMatchObject({ code: "cancelled" });
  });

  it("applies concurrent updates one after another", async () => {
    await using fixture = await createFlagFileFixture({ flags: {}, metadata: { count: 0 } });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        fixture.update((draft) => ({ ...draft, metadata: { count: draft.metadata.count + 1 } })),
      ),
    );
    expect(await fixture.read()).toEqual({ flags: {}, metadata: { count: 20 } });
  });

  it("holds a flag file built by @umbra/protocol that stays valid through a ramp", async () => {
    const options = {
      experiment: "ranker",
      live: "prod",
      candidates: [{ variant: "A", sampleBasisPoints: 2_500 }],
      revision: 1,
    };
    await using fixture = await createFlagFileFixture(
      buildFlagFile({ "umbra.ranker": buildExperimentFlag(options) }),
    );
    await fixture.update((file) => {
      file.flags["umbra.ranker"] = buildExperimentFlag({
        ...options,
        candidates: [{ variant: "A", sampleBasisPoints: 5_000 }],
        revision: 2,
      });
    });
    const onDisk = assertValidFlagFile(await fixture.read());
    expect(readExperimentFlag("umbra.ranker", onDisk.flags["umbra.ranker"])).toMatchObject({
      revision: 2,
      candidates: [{ variant: "A", sampleBasisPoints: 5_000 }],
    });
  });
});
