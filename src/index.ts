// poglm-gpu: partially observable GLMs of spike trains, fitted with differentiable variational inference in WGSL.
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
export { fit, fitMany, NonFiniteError, type FitJob, type FitSettings, type FitResult, type FitProgress, type FitManyOptions } from './api/fit.js';
export { evaluate, evaluateMany, type Metrics, type EvaluateOptions, type GroundTruth, type EvaluationItem } from './api/evaluate.js';
export { syntheticDataset, syntheticTruth, type SyntheticDataset, type SyntheticOptions } from './api/synthetic.js';
export { parseModel, flattenModel, buildModel, ModelFormatError, type PoglmModelJson, type TrainingRecord } from './model/json.js';
export { parameterErrors } from './model/metrics.js';
export { runGrid, summarise, summaryToMarkdown, summaryToCsv, rowsToCsv, type GridSpec, type GridRow, type SummaryRow } from './api/grid.js';
