export type { JetStreamConnection } from "./connect-nats.ts";
export {
  connectJetStream,
  connectNats,
  openJetStream,
  TEST_CONNECTION_OPTIONS,
  waitForStatus,
} from "./connect-nats.ts";
export type { FlagFileFixture, FlagFileFixtureOptions, FlagFileLike } from "./flag-file-fixture.ts";
export {
  createFlagFileFixture,
  DEFAULT_FLAG_FILE_NAME,
  writeFlagFile,
} from "./flag-file-fixture.ts";
export { NATS_SERVER_ENV } from "./internal/nats-binary.ts";
export type {
  GarbageModelOptions,
  ModelContext,
  ModelFunction,
  SlowModelOptions,
  ThrowingModelOptions,
} from "./misbehaving-models.ts";
export {
  flakyModel,
  GARBAGE_OUTPUTS,
  garbageModel,
  hangingModel,
  slowModel,
  throwingModel,
} from "./misbehaving-models.ts";
export type { GeneratePairRecordsOptions } from "./pair-records.ts";
export { generatePairRecords } from "./pair-records.ts";
export type { Random } from "./random.ts";
export { createRandom } from "./random.ts";
export type { NatsServer, RestartNatsOptions, StartNatsOptions } from "./start-nats.ts";
export { startNats } from "./start-nats.ts";
export type {
  Device,
  DeviceMix,
  RegionMix,
  TrafficContext,
  TrafficFields,
  TrafficInput,
  TrafficInputShape,
  TrafficRequest,
  TrafficSegment,
  TrafficSource,
  TrafficSourceOptions,
} from "./traffic-source.ts";
export { createTrafficSource, DEVICES } from "./traffic-source.ts";
export type { VirtualClock, VirtualClockOptions, VirtualTimer } from "./virtual-clock.ts";
export { createVirtualClock } from "./virtual-clock.ts";
export type { WaitForOptions } from "./wait-for.ts";
export { waitFor } from "./wait-for.ts";
