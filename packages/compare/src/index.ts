export type {
  Aggregate,
  AggregateCounters,
  AggregateJson,
  AggregateOptions,
  AggregateWindow,
  ResolvedAggregateOptions,
  SegmentDeclaration,
  SegmentKey,
} from "./aggregate/aggregate.ts";
export {
  aggregateFromJSON,
  aggregateOptionsFromSpec,
  createAggregate,
  mergeAggregates,
} from "./aggregate/aggregate.ts";
export type {
  DivergentExample,
  ExampleDiff,
  JsonValue,
  PairComparison,
} from "./aggregate/divergent-example.ts";
export { toJsonSafe } from "./aggregate/divergent-example.ts";
export type {
  CategoricalFeatureReport,
  CellReport,
  ControlComparison,
  CoverageSummary,
  DivergenceSummary,
  ExperimentReport,
  FieldReport,
  NumericFeatureReport,
  RateSummary,
  ReportOptions,
  SegmentReport,
  TimelinePoint,
  VariantReport,
} from "./aggregate/report.ts";
export { buildReport } from "./aggregate/report.ts";
export type {
  Comparator,
  ComparatorConfig,
  ComparatorKind,
  CreateComparatorOptions,
  CustomComparatorFn,
} from "./comparators/comparator.ts";
export { createComparator } from "./comparators/comparator.ts";
export type { ComparisonResult, FieldDiff } from "./comparators/comparison-result.ts";
export { ComparisonReason } from "./comparators/comparison-result.ts";
export type { CosineOutcome } from "./comparators/cosine.ts";
export { compareCosine, cosineSimilarity, DEFAULT_MIN_COSINE } from "./comparators/cosine.ts";
export type { Label, LabelOptions } from "./comparators/label.ts";
export { compareLabels, rankedLabels } from "./comparators/label.ts";
export type { NumericOptions } from "./comparators/numeric.ts";
export { compareNumeric, DEFAULT_REL_TOLERANCE, isClose } from "./comparators/numeric.ts";
export type {
  ComparablePair,
  OutputComparator,
  OutputComparatorOptions,
  OutputComparison,
} from "./comparators/output-comparator.ts";
export { createOutputComparator } from "./comparators/output-comparator.ts";
export type { RougeLOptions, RougeLScore } from "./comparators/rouge-l.ts";
export {
  compareRougeL,
  DEFAULT_MIN_ROUGE_L,
  DEFAULT_ROUGE_MAX_TOKENS,
  lcsLength,
  rougeL,
  tokenize,
} from "./comparators/rouge-l.ts";
export type { DiffOptions, DiffSummary } from "./comparators/structured-diff.ts";
export { diffValues } from "./comparators/structured-diff.ts";
export type {
  ScopeRef,
  StatisticalMetric,
} from "./decision/alpha-plan.ts";
export { DEFAULT_ALPHA } from "./decision/alpha-plan.ts";
export type { Check } from "./decision/check.ts";
export { CheckGroup, CheckMethod, CheckOutcome } from "./decision/check.ts";
export type {
  BetaPrior,
  ConfidenceBounds,
  MeanSequenceOptions,
  MeanStatistics,
} from "./decision/confidence-sequence.ts";
export {
  bernoulliConfidenceSequence,
  DEFAULT_VARIANCE_PRIOR_COUNT,
  JEFFREYS_PRIOR,
  meanConfidenceSequence,
  normalMixtureMargin,
  optimalMixtureRho2,
} from "./decision/confidence-sequence.ts";
export type {
  CandidateEvaluation,
  DecisionEngine,
  DecisionEngineOptions,
  Evaluation,
} from "./decision/decision-engine.ts";
export { createDecisionEngine } from "./decision/decision-engine.ts";
export type { DecisionPolicy } from "./decision/decision-policy.ts";
export { DEFAULT_DECISION_POLICY, resolveDecisionPolicy } from "./decision/decision-policy.ts";
export type {
  ActivePhase,
  CandidateState,
  DecisionOutcome,
  DecisionState,
  HeldFrom,
} from "./decision/decision-state.ts";
export { Decision, FINISHED_PHASES, Phase } from "./decision/decision-state.ts";
export type {
  CandidateEvidence,
  ExperimentEvidence,
  LatencyEvidence,
  OutcomeCounts,
  QualityEvidence,
  ScopeEvidence,
  TrafficSplit,
} from "./decision/evidence.ts";
export {
  checkCandidateEvidence,
  checkExperimentEvidence,
  emptyCandidateEvidence,
  emptyOutcomeCounts,
  emptyScopeEvidence,
} from "./decision/evidence.ts";
export type {
  EvidenceAccumulator,
  EvidenceAccumulatorOptions,
  PairObservation,
} from "./decision/evidence-accumulator.ts";
export {
  createEvidenceAccumulator,
  DEFAULT_MAX_SEGMENT_VALUES,
} from "./decision/evidence-accumulator.ts";
export type { ExplainOptions } from "./decision/explain-decisions.ts";
export { explainDecisions } from "./decision/explain-decisions.ts";
export type { CommandResult, ManualCommand } from "./decision/manual-command.ts";
export { ManualCommandKind } from "./decision/manual-command.ts";
export type { Routing } from "./decision/routing.ts";
export type {
  CandidateProfile,
  LatencyProfile,
  PreparedScenario,
  ScenarioSummary,
  SimulationCell,
  SimulationHeadline,
  SimulationRun,
  SimulationScenario,
  StandardScenarioOptions,
} from "./decision/simulate.ts";
export {
  AA_PROFILE,
  latencyAbove,
  prepareScenario,
  runScenario,
  runSeed,
  SIMULATED_METRICS,
  SIMULATION_SPEC,
  simulateNaiveLooks,
  simulateRun,
  simulateRuns,
  simulationHeadline,
  standardScenarios,
  summarizeRuns,
} from "./decision/simulate.ts";
export type {
  CategoricalRateRow,
  CategoricalRates,
  CategoricalRatesJson,
} from "./statistics/categorical-rates.ts";
export {
  categoricalRatesFromJSON,
  createCategoricalRates,
  DEFAULT_MAX_CATEGORICAL_VALUES,
  OTHER_VALUE,
} from "./statistics/categorical-rates.ts";
export type { CorrelationAccumulator, CorrelationJson } from "./statistics/correlation.ts";
export {
  correlationFromJSON,
  correlationInterval,
  createCorrelationAccumulator,
} from "./statistics/correlation.ts";
export { DivergenceBucket, divergenceBucket } from "./statistics/divergence-bucket.ts";
export type {
  LatencyHistogram,
  LatencyHistogramJson,
  LatencySummary,
} from "./statistics/latency-histogram.ts";
export {
  createLatencyHistogram,
  DEFAULT_LATENCY_SIGNIFICANT_DIGITS,
  latencyHistogramFromJSON,
  MAX_LATENCY_MS,
} from "./statistics/latency-histogram.ts";
export { normalQuantile } from "./statistics/normal-quantile.ts";
export type { RateCounter, RateCounterJson } from "./statistics/rate-counter.ts";
export { createRateCounter, rateCounterFromJSON } from "./statistics/rate-counter.ts";
export type { Reservoir, ReservoirJson } from "./statistics/reservoir.ts";
export { createReservoir, reservoirFromJSON } from "./statistics/reservoir.ts";
export type { SeededRandom } from "./statistics/seeded-random.ts";
export { createSeededRandom } from "./statistics/seeded-random.ts";
export type {
  SimilaritySketch,
  SimilaritySketchJson,
  SimilaritySummary,
} from "./statistics/similarity-sketch.ts";
export {
  createSimilaritySketch,
  DEFAULT_SIMILARITY_BINS,
  similaritySketchFromJSON,
} from "./statistics/similarity-sketch.ts";
export type { DifferenceInterval, RateInterval } from "./statistics/wilson.ts";
export { rateDifferenceInterval, wilsonBound, wilsonInterval } from "./statistics/wilson.ts";
