import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UmbraError } from "@umbra/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { connectJetStream, connectNats, waitForStatus } from "./connect-nats.ts";
import { trackedPids } from "./internal/exit-cleanup.ts";
import { readNatsInfo } from "./internal/nats-info.ts";
import { type NatsServer, startNats } from "./start-nats.ts";
import { waitFor } from "./wait-for.ts";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startNats", () => {
  const started: NatsServer[] = [];
  const start = async (...args: Parameters<typeof startNats>) => {
    const server = await startNats(...args);
    started.push(server);
    return server;
  };
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });

  it("starts a private JetStream server on a free port other than 4222", async () => {
    const nats = await start();
    expect(nats.port).not.toBe(4222);
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(isAlive(nats.pid)).toBe(true);
    expect(existsSync(nats.storeDir)).toBe(true);
    expect(trackedPids()).toContain(nats.pid);

    await using conn = await connectJetStream(nats.url);
    await conn.jsm.streams.add({ name: "KIT", subjects: ["kit.>"] });
    const ack = await conn.js.publish("kit.one", "payload");
    expect(ack.stream).toBe("KIT");
    expect(ack.seq).toBe(1);
  });

  it("delivers a published message to a subscriber", async () => {
    const nats = await start();
    const nc = await connectNats(nats.url);
    try {
      const sub = nc.subscribe("kit.hello", { max: 1 });
      nc.publish("kit.hello", "hi there");
      const received: string[] = [];
      for await (const msg of sub) received.push(msg.string());
      expect(received).toEqual(["hi there"]);
    } finally {
      await nc.close();
    }
  });

  it("stops exactly its own PID, removes its store dir, and leaves other servers running", async () => {
    const before4222 = await readNatsInfo(4222, 500);
    const a = await start();
    const b = await start();
    expect(a.port).not.toBe(b.port);
    const pidA = a.pid;

    await a.stop();

    expect(isAlive(pidA)).toBe(false);
    expect(a.running).toBe(false);
    expect(existsSync(a.storeDir)).toBe(false);
    expect(trackedPids()).not.toContain(pidA);
    expect(isAlive(b.pid)).toBe(true);
    expect(b.running).toBe(true);
    // The machine's own NATS, if there is one, answers exactly as before.
    const after4222 = await readNatsInfo(4222, 500);
    expect(after4222?.server_name).toBe(before4222?.server_name);
    await a.stop(); // idempotent
  });

  it("restarts on the same port with the same store, so streams and messages survive", async () => {
    const nats = await start();
    const port = nats.port;
    const firstPid = nats.pid;
    const conn = await connectJetStream(nats.url);
    try {
      await conn.jsm.streams.add({ name: "OUTAGE", subjects: ["outage.>"] });
      for (const n of [1, 2, 3]) await conn.js.publish("outage.x", `m${n}`);

      const reconnected = waitForStatus(conn.nc, "reconnect");
      let answeredWhileDown: unknown = "not called";
      await nats.restart({
        whileDown: async () => {
          answeredWhileDown = await readNatsInfo(port, 200);
        },
      });
      expect(answeredWhileDown).toBeUndefined();

      expect(nats.port).toBe(port);
      expect(nats.pid).not.toBe(firstPid);
      expect(isAlive(firstPid)).toBe(false);
      expect(nats.running).toBe(true);
      // The old connection comes back by itself (TEST_CONNECTION_OPTIONS) and sees the stream.
      await reconnected;
      const info = await conn.jsm.streams.info("OUTAGE");
      expect(info.state.messages).toBe(3);
      const consumer = await conn.js.consumers.get("OUTAGE");
      const messages = await consumer.fetch({ max_messages: 3, expires: 2_000 });
      const bodies: string[] = [];
      for await (const m of messages) bodies.push(m.string());
      expect(bodies).toEqual(["m1", "m2", "m3"]);
    } finally {
      await conn.close();
    }
  });

  it("refuses extra arguments that would change the port, address or store dir", async () => {
    await expect(startNats({ args: ["-p", "4222"] })).rejects.toThrow(/args\[0\].*owns them/);
    await expect(startNats({ args: ["--store_dir=/tmp/x"] })).rejects.toMatchObject({
      code: "invalid_argument",
      field: "args[0]",
    });
  });

  it("says how to install nats-server when the binary is missing", async () => {
    const error = await startNats({ binary: "/nonexistent/nats-server" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UmbraError);
    expect(error).toMatchObject({ code: "unavailable", field: "binary" });
  });

  it("fails with the server's own output and cleans up when nats-server refuses to start", async () => {
    const error = await startNats({ args: ["--no-such-flag"] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "unavailable" });
    expect(String((error as Error).message)).toMatch(/exited during startup[\s\S]*no-such-flag/);
  });

  it("kills a server the test process forgot to stop when that process exits", async () => {
    const entry = fileURLToPath(new URL("./start-nats.ts", import.meta.url));
    const script = `import { startNats } from ${JSON.stringify(entry)};
const nats = await startNats();
console.log(JSON.stringify({ pid: nats.pid, storeDir: nats.storeDir }));
process.exit(0);`;
    const child = spawn(
      process.execPath,
      ["--conditions=@umbra/source", "--import", "tsx", "--input-type=module", "-e", script],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, err).toBe(0);
    const { pid, storeDir } = JSON.parse(out.trim()) as { pid: number; storeDir: string };
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !isAlive(pid), { timeoutMs: 5_000, message: `nats-server ${pid} gone` });
    expect(existsSync(storeDir)).toBe(false);
  });
});
