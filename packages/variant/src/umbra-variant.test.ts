// `umbra-variant` as users run it: a real child process started through its bin, called by a
// client written against the Open Inference Protocol specification alone — raw @grpc/grpc-js and
// @grpc/proto-loader with their default options, the request built field by field — so nothing
// of Umbra's client, tensor code or loader options is involved.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createOipClient } from "@umbra/proto";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const bin = fileURLToPath(new URL("../bin/umbra-variant.mjs", import.meta.url));
const oipProto = fileURLToPath(
  new URL("../../proto/proto/inference/open_inference_grpc.proto", import.meta.url),
);

interface Running {
  readonly child: ChildProcess;
  readonly address: string;
  readonly models: string;
  readonly output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running: Running[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop("SIGKILL")));
});

/** Starts the CLI in its own process group and resolves once it prints its address. */
function startCli(command: string, args: string[], cwd: string): Promise<Running> {
  const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => {
      exited = code ?? (signal === null ? null : 128);
      resolve(exited);
    }),
  );
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (exited !== undefined) return exited;
    // The whole group: npx, the bin and the server process.
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // Already gone.
      }
    }, 10_000);
    const code = await exit;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop("SIGKILL");
      reject(new Error(`umbra-variant printed no address within 30 s:\n${output.join("")}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const m = /umbra-variant listening on (\S+) \(models: ([^)]*)\)/.exec(output.join(""));
      if (m !== null) {
        clearTimeout(timer);
        const r: Running = { child, address: m[1] as string, models: m[2] as string, output, stop };
        running.push(r);
        resolve(r);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`umbra-variant exited with ${code} before listening:\n${output.join("")}`));
    });
  });
}

type Callback<T> = (error: grpc.ServiceError | null, value: T) => void;
type Unary = <T>(request: object, callback: Callback<T>) => void;

/** The independent client: the specification's .proto, loaded with proto-loader's defaults. */
function specClient(address: string): Record<string, Unary> & grpc.Client {
  const definition = protoLoader.loadSync(oipProto);
  const inference = grpc.loadPackageDefinition(definition).inference as unknown as {
    GRPCInferenceService: new (
      address: string,
      credentials: grpc.ChannelCredentials,
    ) => Record<string, Unary> & grpc.Client;
  };
  return new inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
}

function call<T>(client: Record<string, Unary>, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (client[method] as Unary).call(client, request, (e: grpc.ServiceError | null, v: unknown) =>
      e ? reject(e) : resolve(v as T),
    );
  });
}

interface SpecOutput {
  name: string;
  datatype: string;
  shape: unknown[];
}
interface SpecResponse {
  modelName: string;
  id: string;
  outputs: SpecOutput[];
  rawOutputContents: Buffer[];
}

/** Reads label and scores from a response by the specification's raw layout. */
function readAnswer(response: SpecResponse): { label: string; scores: number[] } {
  const at = (name: string) => {
    const i = response.outputs.findIndex((o) => o.name === name);
    expect(i, `output ${name}`).toBeGreaterThanOrEqual(0);
    return {
      meta: response.outputs[i] as SpecOutput,
      raw: response.rawOutputContents[i] as Buffer,
    };
  };
  const label = at("label");
  expect(label.meta.datatype).toBe("BYTES");
  const length = label.raw.readUInt32LE(0);
  expect(label.raw.length).toBe(4 + length);
  const scores = at("scores");
  expect(scores.meta.datatype).toBe("FP32");
  const values: number[] = [];
  for (let off = 0; off < scores.raw.length; off += 4) values.push(scores.raw.readFloatLE(off));
  return { label: label.raw.subarray(4).toString("utf8"), scores: values };
}

describe("npx umbra-variant --reference classifier", () => {
  it("answers an independent OIP client written against the specification", async () => {
    const server = await startCli(
      "npx",
      ["--no-install", "umbra-variant", "--reference", "classifier", "--port", "0"],
      repoRoot,
    );
    expect(server.models).toBe("classifier");
    const client = specClient(server.address);
    try {
      expect(await call(client, "ServerLive", {})).toEqual({ live: true });
      expect(await call(client, "ServerReady", {})).toEqual({ ready: true });
      expect(await call(client, "ModelReady", { name: "classifier" })).toEqual({ ready: true });
      const metadata = await call<{ name: string; inputs: SpecOutput[] }>(client, "ModelMetadata", {
        name: "classifier",
      });
      expect(metadata.name).toBe("classifier");
      expect(metadata.inputs.map((t) => [t.name, t.datatype, t.shape.map(String)])).toEqual([
        ["input", "FP32", ["1", "8"]],
      ]);

      const x = [0.3, -1.2, 0.8, 0.05, 2.1, -0.4, 0.9, -0.7];
      const raw = Buffer.alloc(4 * x.length);
      for (const [i, v] of x.entries()) raw.writeFloatLE(v, i * 4);
      const rawResponse = await call<SpecResponse>(client, "ModelInfer", {
        modelName: "classifier",
        id: "independent-1",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 8] }],
        rawInputContents: [raw],
      });
      expect(rawResponse.modelName).toBe("classifier");
      expect(rawResponse.id).toBe("independent-1");
      const a = readAnswer(rawResponse);
      expect(["negative", "neutral", "positive"]).toContain(a.label);
      expect(a.scores).toHaveLength(3);
      expect(a.scores.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(a.label).toBe(
        ["negative", "neutral", "positive"][a.scores.indexOf(Math.max(...a.scores))],
      );

      // The same input as typed contents gets the same answer.
      const typedResponse = await call<SpecResponse>(client, "ModelInfer", {
        modelName: "classifier",
        id: "independent-2",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 8], contents: { fp32Contents: x } }],
      });
      expect(typedResponse.id).toBe("independent-2");
      expect(readAnswer(typedResponse)).toEqual(a);

      const unknown = await call(client, "ModelInfer", { modelName: "nope", inputs: [] }).catch(
        (e: grpc.ServiceError) => e,
      );
      expect((unknown as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
    // npx itself dies of the signal; what matters is that the server shut down gracefully and
    // that no process of the group is left.
    await server.stop("SIGTERM");
    await waitFor(() => server.output.join("").includes("SIGTERM, shutting down"));
    await waitFor(() => !groupAlive(server.child.pid as number));
  });

  it("is linked as the workspace bin npx runs", async () => {
    expect(await readlink(join(repoRoot, "node_modules/.bin/umbra-variant"))).toBe(
      "../@umbra/variant/bin/umbra-variant.mjs",
    );
  });
});

describe("umbra-variant --module", () => {
  it("serves a user's model file, toggles readiness on SIGUSR2, and shuts down on SIGINT", async () => {
    const dir = await mkdtemp(join(tmpdir(), "umbra-variant-module-"));
    try {
      await writeFile(
        join(dir, "echo-model.mjs"),
        "export function model(input, ctx) { return { text: ctx.requestId + ':' + typeof input }; }\n",
      );
      const server = await startCli(
        process.execPath,
        [bin, "--module", "./echo-model.mjs", "--port", "0"],
        dir,
      );
      expect(server.models).toBe("echo-model");
      const client = createOipClient({ address: server.address, model: "echo-model" });
      try {
        expect((await client.infer({ q: 1 }, { requestId: "m1" })).output.text).toBe("m1:object");
        process.kill(server.child.pid as number, "SIGUSR2");
        const deadline = Date.now() + 10_000;
        while (await client.isReady()) {
          if (Date.now() > deadline) throw new Error("readiness never flipped");
          await new Promise((r) => setTimeout(r, 20));
        }
        await waitFor(() => server.output.join("").includes("umbra-variant: not ready"));
      } finally {
        await client.close();
      }
      expect(await server.stop("SIGINT")).toBe(0);
      expect(server.output.join("")).toMatch(/SIGINT, shutting down/);
      expect(groupAlive(server.child.pid as number)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("exits with status 2 and names the flag on a bad argument", async () => {
    const child = spawn(process.execPath, [bin, "--reference", "classifier", "--port", "abc"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/umbra-variant: option '--port <port>' argument 'abc' is invalid/);
  });
});

/** Whether any process of the group led by `pid` is still alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
