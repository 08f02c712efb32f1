export type { JetStreamConnection } from "./connect-nats.ts";
export {
  connectJetStream,
  connectNats,
  openJetStream,
  TEST_CONNECTION_OPTIONS,
  waitForStatus,
} from "./connect-nats.ts";
export { NATS_SERVER_ENV } from "./internal/nats-binary.ts";
export type { NatsServer, StartNatsOptions } from "./start-nats.ts";
export { startNats } from "./start-nats.ts";
export type { WaitForOptions } from "./wait-for.ts";
export { waitFor } from "./wait-for.ts";
