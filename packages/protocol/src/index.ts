export type { Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export { UmbraError, UmbraErrorCode } from "./errors.ts";
export type { DeadLetterKind } from "./names.ts";
export {
  assertSubjectToken,
  DEFAULT_STRIPPED_HEADERS,
  isSubjectToken,
  PARAMETER_PREFIX,
  Parameters,
  pairMessageId,
  REQUEST_ID_HEADER,
  SHADOW_HEADER,
  Streams,
  Subjects,
  TRACEPARENT_HEADER,
} from "./names.ts";
