// The shadow engine's worker thread: receives jobs from the request thread, mirrors them, publishes
// records. Nothing here can reach the request thread except messages.
import { parentPort, workerData } from "node:worker_threads";
import type { ExposureRecord, PairRecord } from "@umbra/protocol";
import { pino } from "pino";
import { createOipCaller } from "../callers/oip-caller.ts";
import { buildEngine } from "./build-engine.ts";
import type { EngineConfig } from "./engine-config.ts";
import type { MirrorJob } from "./types.ts";
import type { FromWorker, ToWorker } from "./worker-messages.ts";

const port = parentPort;
if (port === null) throw new Error("worker-main.ts must run in a worker thread");
const config = workerData as EngineConfig;
const logger = pino({
  level: config.logLevel,
  base: { role: "shadow", experiment: config.experiment, sdkInstanceId: config.sdkInstanceId },
});
const { engine, memory } = buildEngine(config, { callerFor: createOipCaller, logger });
const send = (m: FromWorker) => port.postMessage(m);

// Records of the in-memory sink go back to the request thread in batches, once per tick, and are
// forgotten here, so worker memory stays bounded by one tick's records.
let recordsScheduled = false;
function sendRecords(): void {
  recordsScheduled = false;
  if (memory === undefined) return;
  const pairs: PairRecord[] = memory.pairs.splice(0);
  const exposures: ExposureRecord[] = memory.exposures.splice(0);
  if (pairs.length > 0 || exposures.length > 0) send({ t: "records", pairs, exposures });
}
function scheduleRecords(): void {
  if (memory === undefined || recordsScheduled) return;
  recordsScheduled = true;
  setImmediate(sendRecords);
}

// A burst is admitted a slice at a time, yielding in between, so answers of calls already in
// flight are handled on time instead of waiting behind thousands of admissions.
const CHUNK = 128;
const backlog: (readonly MirrorJob[])[] = [];
let draining = false;
function submitInChunks(jobs: readonly MirrorJob[]): void {
  backlog.push(jobs);
  if (!draining) {
    draining = true;
    setImmediate(drain);
  }
}
function drain(): void {
  const jobs = backlog[0];
  if (jobs === undefined) {
    draining = false;
    return;
  }
  const slice = jobs.length <= CHUNK ? jobs : jobs.slice(0, CHUNK);
  if (slice === jobs) backlog.shift();
  else backlog[0] = jobs.slice(CHUNK);
  engine.submit(slice);
  ack(slice.length);
  scheduleRecords();
  setImmediate(drain);
}

// Acks are coalesced (at most one message per ACK_DELAY_MS), so the request thread does not pay
// a message per request.
const ACK_DELAY_MS = 10;
let unacked = 0;
let ackTimer: NodeJS.Timeout | undefined;
function ack(count: number): void {
  unacked += count;
  if (ackTimer === undefined) ackTimer = setTimeout(flushAck, ACK_DELAY_MS);
}
function flushAck(): void {
  ackTimer = undefined;
  if (unacked > 0) send({ t: "ack", count: unacked });
  unacked = 0;
}

function backlogDrained(): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (backlog.length === 0 ? resolve() : setImmediate(check));
    check();
  });
}

const statsTimer = setInterval(() => {
  scheduleRecords();
  send({ t: "stats", stats: engine.stats() });
}, 250);

port.on("message", (m: ToWorker) => {
  switch (m.t) {
    case "jobs":
      submitInChunks(m.jobs);
      break;
    case "requests":
      engine.countRequests(m.counts);
      break;
    case "settle":
      void backlogDrained()
        .then(() => engine.settle(m.timeoutMs))
        .then((ok) => {
          flushAck();
          sendRecords();
          send({ t: "stats", stats: engine.stats() });
          send({ t: "settled", id: m.id, ok });
        });
      break;
    case "close":
      clearInterval(statsTimer);
      // Whatever still waits is admitted now, so it gets its records (closing drops it as "closed").
      for (const jobs of backlog.splice(0)) {
        engine.submit(jobs);
        ack(jobs.length);
      }
      void engine.close(m.timeoutMs).then(
        () => {
          flushAck();
          sendRecords();
          send({ t: "stats", stats: engine.stats() });
          send({ t: "closed" });
          port.close();
        },
        (error: unknown) => {
          logger.error({ err: error }, "closing the shadow engine failed");
          send({ t: "closed" });
          port.close();
        },
      );
      break;
  }
});

send({ t: "ready" });

// Keep flushing memory records as the engine produces them (pair records appear asynchronously).
setInterval(scheduleRecords, 20).unref();
