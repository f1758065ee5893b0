// poglm-gpu: partially observable GLMs of spike trains, fitted with differentiable variational inference in WGSL.
/// <reference types="@webgpu/types" preserve="true" />
export { GpuSession, withSession } from './engine/session.js';
export { GpuContext, type GpuContextOptions, type AdapterDescription } from './gpu/device.js';
export { KernelRuntime, BoundKernel, type KernelProgram, type KernelBindings } from './gpu/kernel.js';
export {
  GpuError,
  ShaderCompileError,
  GpuValidationError,
  DeviceLostError,
  DeviceLimitError,
  KernelArgumentError,
} from './gpu/errors.js';
export { simulateOnDevice, type SimulationRequest, type SimulationResult } from './engine/simulate.js';
export { computeElboGradient, type GradientRequest, type GradientResult } from './engine/gradient.js';
export { computeLogJoint, computeLogQ, type GivenSamplesRequest } from './engine/likelihood.js';
export { drawBaseNoiseOnDevice, philoxWords } from './engine/noise.js';
export { uploadDataset, type DeviceDataset } from './engine/dataset.js';
export { paramLayout, flattenParams, unflattenParams, type ParamLayout } from './model/params.js';
export { validateCounts, DataError } from './model/data.js';
export { exponentialBasis } from './model/basis.js';
export * from './model/types.js';
export {
  fit,
  fitMany,
  NonFiniteError,
  checkFitResume,
  FIT_CHECKPOINT_FORMAT,
  type FitJob,
  type FitSettings,
  type FitResult,
  type FitProgress,
  type FitManyOptions,
  type CheckpointOptions,
  type FitCheckpoint,
  type FitFingerprint,
  type FitEpoch,
  type EpochListener,
} from './api/fit.js';
export { evaluate, evaluateMany, type Metrics, type EvaluateOptions, type EvaluateManyOptions, type GroundTruth, type EvaluationItem } from './api/evaluate.js';
export { syntheticDataset, syntheticTruth, type SyntheticDataset, type SyntheticOptions } from './api/synthetic.js';
export { parseModel, flattenModel, buildModel, ModelFormatError, type PoglmModelJson, type TrainingRecord } from './model/json.js';
export {
  parameterErrors,
  bitsPerSpike,
  bitsPerSpikeOver,
  countSpikes,
  homogeneousRates,
  homogeneousLogLikelihood,
  homogeneousBaseline,
  type HomogeneousBaseline,
} from './model/metrics.js';
export { inferHidden, inferHiddenArrays, type InferOptions, type HiddenPosterior, type HiddenPosteriorArrays } from './api/infer.js';
export {
  fitGlm,
  fitGlmMany,
  glmLogLikelihood,
  evaluateGlm,
  type GlmSettings,
  type GlmFitJob,
  type GlmFitOptions,
  type GlmScoreOptions,
  type GlmMetrics,
} from './api/glm.js';
export { chooseHidden, pooledPoint, type HiddenChoice, type SweepFit, type SweepPoint } from './api/choice.js';
export { VALIDATION_DEFAULTS, type ValidationSettings } from './api/validation.js';
export { convergenceOf, type ConvergenceCheck, type ValidationRecord } from './model/convergence.js';
export {
  runGrid,
  summarise,
  summaryToMarkdown,
  summaryToCsv,
  rowsToCsv,
  GRID_CHECKPOINT_FORMAT,
  type GridSpec,
  type GridDataset,
  type GridRow,
  type GridOptions,
  type GridCheckpoint,
  type GridFingerprint,
  type SummaryRow,
} from './api/grid.js';
export {
  CheckpointMismatchError,
  TRAINING_STATE_FORMAT,
  encodeFloat32,
  decodeFloat32,
  type TrainingCheckpoint,
  type TrainingMemberState,
  type TrainingFingerprint,
  type EncodedNumber,
} from './model/checkpoint.js';
export {
  countArrayToNested,
  isCountArray,
  isCountBuffer,
  readCountBuffer,
  type SpikeCounts,
  type CountArray,
  type CountArrayData,
  type CountBuffer,
  type CountShape3,
} from './api/counts.js';
export {
  RETURNED_BUFFER_USAGE,
  arrayToBuffer,
  modelToBuffer,
  posteriorToBuffer,
  modelParams,
  fitResultArrays,
  type BufferOptions,
  type LibraryBuffer,
  type ModelBuffer,
  type PosteriorBuffer,
  type ModelArrays,
} from './api/device-buffers.js';
export { BufferUsage, MapMode } from './gpu/constants.js';
// The engine's batched jobs, for apps that drive training or scoring step by step on data they uploaded themselves
// (uploadDataset): what fitMany, evaluateMany and inferHidden are built from (docs/architecture.md, The engine).
export { VariationalJob } from './engine/job.js';
export type { JobSpec, JobMode, JobPath } from './engine/spec.js';
export { trainGroup, type TrainingGroupSpec, type TrainingOptions, type TrainingOutcome, type EpochReport, type GroupMember, type MemberOutcome } from './engine/training.js';
export { evaluateGroup, ModelEvaluation, type EvaluationSpec, type EvaluationOutcome, type EvaluationMember } from './engine/evaluation.js';
export { inferPosteriorGroup, type PosteriorSpec, type PosteriorOutcome, type PosteriorMember } from './engine/posterior.js';
export { FitWorker, type WorkerLike, type WorkerFitOptions, type WorkerInferOptions } from './worker/client.js';
export { serveFits, type ServeOptions, type FitServer } from './worker/serve.js';
export { WORKER_PROTOCOL, type MessageEndpoint, type WorkerDescription, type WorkerRequest, type WorkerReply } from './worker/protocol.js';
