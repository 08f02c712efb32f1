import { describe, expect, it } from "vitest";
import { CollectorError } from "./collector-error.ts";
import { DEFAULT_CONFIG, loadConfig } from "./config.ts";

function failure(env: Record<string, string>): CollectorError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof CollectorError) return error;
    throw error;
  }
  throw new Error("loadConfig accepted a bad environment");
}

describe("loadConfig", () => {
  it("uses the defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config.httpPort).toBe(DEFAULT_CONFIG.httpPort);
    expect(config.natsServers).toEqual(["nats://127.0.0.1:4222"]);
    expect(config.replicaId).toMatch(/-\d+$/);
  });

  it("reads every variable it knows", () => {
    const config = loadConfig({
      UMBRA_NATS_URL: "nats://a:4333, nats://b:4333",
      UMBRA_HTTP_PORT: "0",
      UMBRA_SPECS: "specs, more.json",
      UMBRA_REPLICA_ID: "collector-0",
      UMBRA_CHECKPOINT_INTERVAL_MS: "250",
      UMBRA_LEASE_TTL_MS: "3000",
      UMBRA_LOG_LEVEL: "debug",
    });
    expect(config.natsServers).toEqual(["nats://a:4333", "nats://b:4333"]);
    expect(config.specPaths).toEqual(["specs", "more.json"]);
    expect(config).toMatchObject({
      httpPort: 0,
      replicaId: "collector-0",
      checkpointIntervalMs: 250,
      leaseTtlMs: 3000,
      logLevel: "debug",
    });
  });

  it("fails naming the variable and the rule for a non-integer port", () => {
    const e = failure({ UMBRA_HTTP_PORT: "http" });
    expect(e.field).toBe("UMBRA_HTTP_PORT");
    expect(e.message).toBe('UMBRA_HTTP_PORT: must be an integer from 0 to 65535 (got "http")');
  });

  it("fails for a NATS URL with another scheme", () => {
    expect(failure({ UMBRA_NATS_URL: "http://x:1" }).field).toBe("UMBRA_NATS_URL");
  });

  it("fails for a replica id with spaces and an unknown log level", () => {
    expect(failure({ UMBRA_REPLICA_ID: "a b" }).field).toBe("UMBRA_REPLICA_ID");
    expect(failure({ UMBRA_LOG_LEVEL: "loud" }).field).toBe("UMBRA_LOG_LEVEL");
  });

  it("refuses a checkpoint interval that JetStream's redelivery could overtake", () => {
    const e = failure({ UMBRA_CHECKPOINT_INTERVAL_MS: "20000", UMBRA_ACK_WAIT_MS: "30000" });
    expect(e.field).toBe("UMBRA_CHECKPOINT_INTERVAL_MS");
  });

  it("refuses 2 stream replicas", () => {
    expect(failure({ UMBRA_STREAM_REPLICAS: "2" }).message).toContain("must be 1, 3 or 5");
  });

  it("reads the promotion settings: an absolute flag file path, the sync port, the token, the policy", () => {
    const config = loadConfig({
      UMBRA_FLAG_FILE: "flags/umbra.flagd.json",
      UMBRA_FLAG_SYNC_PORT: "0",
      UMBRA_ADMIN_TOKEN: "0123456789abcdef",
      UMBRA_DECISION_TICK_MS: "250",
      UMBRA_DECISION_POLICY: '{"maxIdleMs":60000}',
    });
    expect(config.flagFile).toMatch(/^\/.*\/flags\/umbra\.flagd\.json$/);
    expect(config).toMatchObject({
      flagSyncPort: 0,
      adminToken: "0123456789abcdef",
      decisionTickMs: 250,
    });
    expect(config.decisionPolicy.maxIdleMs).toBe(60_000);
    expect(loadConfig({})).toMatchObject({ flagFile: null, flagSyncPort: null, adminToken: null });
  });

  it("refuses a short admin token without echoing it, and a sync port without a flag file", () => {
    const token = failure({ UMBRA_ADMIN_TOKEN: "secret" });
    expect(token.field).toBe("UMBRA_ADMIN_TOKEN");
    expect(token.message).not.toContain("secret");
    expect(failure({ UMBRA_FLAG_SYNC_PORT: "8015" }).field).toBe("UMBRA_FLAG_SYNC_PORT");
  });

  it("names the policy field that breaks a rule, and a policy that is not an object", () => {
    const e = failure({ UMBRA_DECISION_POLICY: '{"maxIdleMs":-1}' });
    expect(e.field).toBe("UMBRA_DECISION_POLICY.maxIdleMs");
    expect(e.message).toContain("must be a number in");
    expect(failure({ UMBRA_DECISION_POLICY: '{"nope":1}' }).field).toBe(
      "UMBRA_DECISION_POLICY.nope",
    );
    expect(failure({ UMBRA_DECISION_POLICY: "[1]" }).field).toBe("UMBRA_DECISION_POLICY");
    expect(failure({ UMBRA_DECISION_POLICY: "{" }).field).toBe("UMBRA_DECISION_POLICY");
  });
});
