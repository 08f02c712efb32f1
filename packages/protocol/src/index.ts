export type { Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export {
  Dtype,
  decodeDecision,
  decodeExposure,
  decodeLabel,
  decodePair,
  decodeRecord,
  decodeValue,
  encodeDecision,
  encodeExposure,
  encodeLabel,
  encodePair,
  encodeRecord,
  encodeValue,
  validateRecord,
} from "./codec.ts";
export { UmbraError, UmbraErrorCode } from "./errors.ts";
export type {
  CandidateSample,
  EvaluatedPlan,
  ExperimentFlagOptions,
  FlagdFlag,
  FlagFile,
  FlagFileProblem,
  ObjectEvaluation,
  RoutingPlan,
} from "./flags.ts";
export {
  assertValidFlagFile,
  BASIS_POINTS,
  buildExperimentFlag,
  buildFlagFile,
  canonicalJson,
  createFlagEvaluator,
  experimentFlagKey,
  FLAG_KEY_PREFIX,
  FLAGD_SCHEMA_URL,
  planFromEvaluation,
  planVariantKey,
  readExperimentFlag,
  validateFlagFile,
} from "./flags.ts";
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
export type {
  DecisionRecord,
  ExposureRecord,
  LabelRecord,
  PairRecord,
  RecordKind,
  RecordOf,
} from "./records.ts";
export {
  DecisionRecordSchema,
  DropReason,
  ExposureRecordSchema,
  InputCapture,
  LabelRecordSchema,
  PairRecordSchema,
  RecordSchemas,
  SCHEMA_VERSION,
  ShadowOutcome,
} from "./records.ts";
export type { ComparatorSpec, ExperimentSpec } from "./spec.ts";
export {
  ComparatorSpecSchema,
  DEFAULT_LABEL_HORIZONS_MS,
  DEFAULT_STAGES,
  ExperimentSpecSchema,
  parseExperimentSpec,
  specHash,
} from "./spec.ts";
