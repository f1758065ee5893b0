// Every kernel of the library as data: shader file, entry point, workgroup size and override constants. The
// pipeline cache keys on all of it, so two jobs that need the same kernel share one compiled pipeline.
import type { KernelProgram } from '../gpu/kernel.js';
import { rowWorkgroupSize } from '../gpu/grid.js';
import type { ParamLayout } from '../model/params.js';
import { METHOD_INFO, SCHEME_ID, type ResolvedMethod, type Scheme } from '../model/types.js';
import type { NoiseSource } from './spec.js';

export const DEFAULT_WORKGROUP = 64;

/** The model's shape as pipeline constants: loops over it unroll, so small models keep their vectors in registers. */
export interface ShapeConstants {
  visibleCount: number;
  hiddenCount: number;
  neuronCount: number;
  basisCount: number;
  categoryCount: number;
  forwardColumnCount: number;
}

/**
 * A job's dimensions as pipeline constants of the stages that include stage.wgsl: the index arithmetic divides by
 * them, and a division by a constant compiles to a multiply (a division by a value read at run time is a per-lane
 * loop on a CPU driver and slow on a GPU).
 */
export interface JobConstants {
  samplesPerSlot: number;
  chunkSlotCount: number;
  binCount: number;
}

export function shapeConstants(layout: ParamLayout, basisLength: number, method: ResolvedMethod): ShapeConstants {
  return {
    visibleCount: layout.visible,
    hiddenCount: layout.hidden,
    neuronCount: layout.neurons,
    basisCount: basisLength,
    categoryCount: method.categories,
    forwardColumnCount: layout.forwardColumns,
  };
}

const pick = <K extends keyof ShapeConstants>(shape: ShapeConstants, keys: K[]): Pick<ShapeConstants, K> =>
  Object.fromEntries(keys.map((key) => [key, shape[key]])) as Pick<ShapeConstants, K>;

const NOISE_SOURCE_ID: Record<NoiseSource, number> = { philox: 0, buffer: 1, given: 2 };
const NOISE_KIND_ID = { uniform: 0, normal: 1, gumbel: 2 } as const;

export const convolveProgram = (direction: 'causal' | 'antiCausal'): KernelProgram => ({
  name: `convolve.${direction}`,
  shader: 'convolve.wgsl',
  entryPoint: direction === 'causal' ? 'convolveCausal' : 'convolveAntiCausal',
  workgroupSize: DEFAULT_WORKGROUP,
});

export const simulateProgram = (): KernelProgram => ({
  name: 'simulate',
  shader: 'simulate.wgsl',
  entryPoint: 'simulate',
  workgroupSize: DEFAULT_WORKGROUP,
});

/** Bins and outputs of a drive thread's tile (twins of BINS and OUTPUTS in drive.wgsl). */
const DRIVE_BINS = 8;
const DRIVE_OUTPUTS = 8;

/** Threads of the drive per (model, sequence): bin blocks x output blocks (generative, then variational). */
export function driveThreads(bins: number, shape: ShapeConstants): number {
  const blocks = Math.ceil(shape.neuronCount / DRIVE_OUTPUTS) + Math.ceil(shape.hiddenCount / DRIVE_OUTPUTS);
  return Math.ceil(bins / DRIVE_BINS) * blocks;
}

/** Drive: a row per (model, sequence), a thread per 8 x 8 tile of (bins, outputs). */
export const driveProgram = (scheme: Scheme, bins: number, shape: ShapeConstants, job: JobConstants): KernelProgram => ({
  name: `drive.${scheme}`,
  shader: 'drive.wgsl',
  entryPoint: 'drive',
  workgroupSize: rowWorkgroupSize(Math.min(64, driveThreads(bins, shape))),
  constants: { scheme: SCHEME_ID[scheme], ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount']), ...job },
});

/**
 * FS samples in time order (one thread per instance); F and FB in parallel over bins (a row per instance). With
 * `storeSlope` the stage keeps dz/dmu for the backward pass (training with a continuous pathwise method).
 */
export const sampleProgram = (
  scheme: Scheme,
  method: ResolvedMethod,
  noise: NoiseSource,
  bins: number,
  shape: ShapeConstants,
  job: JobConstants,
  storeSlope = false,
): KernelProgram => ({
  name: `sampleQ.${scheme}.${method.method}.${noise}${storeSlope ? '.slope' : ''}`,
  shader: 'sample_q.wgsl',
  entryPoint: scheme === 'FS' ? 'sampleSequential' : 'sampleParallel',
  workgroupSize: scheme === 'FS' ? DEFAULT_WORKGROUP : rowWorkgroupSize(bins),
  constants: {
    method: METHOD_INFO[method.method].id,
    noiseKind: NOISE_KIND_ID[method.info.noise],
    noiseSource: NOISE_SOURCE_ID[noise],
    storeSlope,
    ...pick(shape, ['visibleCount', 'hiddenCount', 'basisCount', 'categoryCount']),
    ...job,
  },
});

/** Bins per thread of the ln p stage (twin of BINS in log_likelihood_p.wgsl). */
export const LOG_JOINT_BINS = 4;

/** ln p: a row per instance, a thread per 4 bins. */
export const logJointProgram = (
  method: ResolvedMethod,
  options: { withGradient: boolean; storeRates: boolean; addToWeights: boolean },
  bins: number,
  shape: ShapeConstants,
  job: JobConstants,
): KernelProgram => ({
  name: `logLikelihoodP.${method.method}.${options.withGradient ? 'grad' : 'value'}${options.storeRates ? '.rates' : ''}${options.addToWeights ? '' : '.fresh'}`,
  shader: 'log_likelihood_p.wgsl',
  entryPoint: 'logJointPerBin',
  workgroupSize: rowWorkgroupSize(Math.ceil(bins / LOG_JOINT_BINS)),
  constants: {
    method: METHOD_INFO[method.method].id,
    withGradient: options.withGradient,
    storeRates: options.storeRates,
    addToWeights: options.addToWeights,
    ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount', 'basisCount', 'categoryCount']),
    ...job,
  },
});

/** The FS pathwise backward pass sweeps time in reverse per instance; everything else is a row per instance. */
export const backwardProgram = (scheme: Scheme, method: ResolvedMethod, bins: number, shape: ShapeConstants, job: JobConstants): KernelProgram => {
  const pathwise = method.info.estimator === 'pathwise';
  const sequential = scheme === 'FS' && pathwise;
  return {
    name: `backward.${scheme}.${method.method}`,
    shader: 'backward.wgsl',
    entryPoint: sequential ? 'backwardSequential' : 'backwardParallel',
    workgroupSize: sequential ? DEFAULT_WORKGROUP : rowWorkgroupSize(bins),
    constants: {
      method: METHOD_INFO[method.method].id,
      pathwise,
      ...pick(shape, ['visibleCount', 'hiddenCount', 'basisCount', 'categoryCount']),
      ...job,
    },
  };
};

export const sumWeightsProgram = (job: JobConstants): KernelProgram => ({
  name: 'reduce.sumWeights',
  shader: 'reduce.wgsl',
  entryPoint: 'sumWeights',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: { ...job },
});

/** Tiles of one instance's per-sample gradient columns (twin of tilesPerInstance in reduce.wgsl). */
export const GRADIENT_TILE = 8;
export function gradientTilesPerInstance(layout: ParamLayout): number {
  const tiles = (extent: number): number => Math.ceil(extent / GRADIENT_TILE);
  const theta = tiles(layout.neurons) * tiles(layout.neurons + 1 - layout.visible);
  const forward = tiles(layout.hidden) * tiles(layout.forwardColumns + 1 - layout.visible);
  return theta + forward;
}

/** Factor columns and visible columns per thread of the visible-column product (twins of visible_gradient.wgsl). */
const VISIBLE_PRODUCT_UNITS = 16;
const VISIBLE_PRODUCT_COLUMNS = 4;

/** Workgroups per model of the visible-column product: unit blocks x groups of columns. */
export function visibleProductWorkgroups(layout: ParamLayout, workgroupSize: number): number {
  const theta = Math.ceil(layout.neurons / 4) * 4;
  const columns = theta + Math.ceil(layout.hidden / 4) * 4;
  const blocks = Math.ceil(columns / VISIBLE_PRODUCT_UNITS) + (layout.scheme === 'FB' ? Math.ceil((columns - theta) / VISIBLE_PRODUCT_UNITS) : 0);
  return blocks * Math.ceil(layout.visible / (workgroupSize * VISIBLE_PRODUCT_COLUMNS));
}

/** Threads per workgroup of the visible-column product: one per 4 columns, up to 64. */
export const visibleProductWorkgroupSize = (layout: ParamLayout): number =>
  Math.min(64, rowWorkgroupSize(Math.ceil(layout.visible / VISIBLE_PRODUCT_COLUMNS)));

/** The samples' row factors summed per (pair, bin): a row per pair, a thread per (bin, factor column). */
export const sumSamplesProgram = (method: ResolvedMethod, shape: ShapeConstants, job: JobConstants): KernelProgram => ({
  name: `reduce.sumSamples.${method.info.estimator}`,
  shader: 'reduce.wgsl',
  entryPoint: 'sumSamples',
  // Rows are long (bins x factor columns): the largest workgroups keep the per-workgroup cost down.
  workgroupSize: 256,
  constants: { scoreFunction: method.info.estimator === 'score', ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount']), ...job },
});

/** The visible columns of every gradient block: a row of workgroups per model, a thread per (column, unit block). */
export const visibleProductProgram = (layout: ParamLayout, shape: ShapeConstants, job: JobConstants): KernelProgram => ({
  name: `visibleGradient.product.${layout.scheme}`,
  shader: 'visible_gradient.wgsl',
  entryPoint: 'visibleProduct',
  workgroupSize: visibleProductWorkgroupSize(layout),
  constants: { scheme: SCHEME_ID[layout.scheme], ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount']), ...job },
});

/** Each instance's gradient blocks, a thread per tile. */
export const sumInstanceProgram = (layout: ParamLayout, method: ResolvedMethod, shape: ShapeConstants, job: JobConstants): KernelProgram => ({
  name: `reduce.sumInstance.${layout.scheme}.${method.info.estimator}`,
  shader: 'reduce.wgsl',
  entryPoint: 'sumInstance',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: {
    scoreFunction: method.info.estimator === 'score',
    scheme: SCHEME_ID[layout.scheme],
    ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount', 'forwardColumnCount']),
    ...job,
  },
});

/**
 * The mean over instances: a row per model, a thread per parameter and one for the ELBO. On the fused path every
 * instance holds its whole gradient; on the staged path the visible columns come from the visible-gradient stage.
 */
export const sumGradientProgram = (paramCount: number, shape: ShapeConstants, job: JobConstants, fused = false): KernelProgram => ({
  name: `reduce.sumGradient${fused ? '.fused' : ''}`,
  shader: 'reduce.wgsl',
  entryPoint: 'sumGradient',
  workgroupSize: rowWorkgroupSize(paramCount + 1),
  // The shape tells which parameters are visible columns (summed by the visible-gradient stage).
  constants: { fusedInstances: fused, ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount', 'forwardColumnCount']), ...job },
});

/**
 * Threads per workgroup of the fused path: a warp on a GPU, and small enough that a single small model's instances
 * (B = 1: 50 at the paper's synthetic size) still spread over several workgroups, which is what a CPU driver runs in
 * parallel.
 */
export const INSTANCE_GRADIENT_WORKGROUP = 32;

/** The fused path: one thread per instance through its whole gradient (instance_gradient.wgsl). */
export const instanceGradientProgram = (layout: ParamLayout, method: ResolvedMethod, noise: NoiseSource, shape: ShapeConstants, job: JobConstants): KernelProgram => ({
  name: `instanceGradient.${layout.scheme}.${method.method}.${noise}`,
  shader: 'instance_gradient.wgsl',
  entryPoint: 'instanceGradient',
  workgroupSize: INSTANCE_GRADIENT_WORKGROUP,
  constants: {
    scheme: SCHEME_ID[layout.scheme],
    method: METHOD_INFO[method.method].id,
    noiseKind: NOISE_KIND_ID[method.info.noise],
    noiseSource: NOISE_SOURCE_ID[noise],
    pathwise: method.info.estimator === 'pathwise',
    ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount', 'basisCount', 'categoryCount']),
    ...job,
  },
});

export const adamProgram = (job: JobConstants): KernelProgram => ({
  name: 'adam.step',
  shader: 'adam.wgsl',
  entryPoint: 'adamStep',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: { ...job },
});

/** Copies Adam's proposed parameters of the models that stayed finite (adam.wgsl commitParams). */
export const commitParamsProgram = (job: JobConstants): KernelProgram => ({
  name: 'adam.commitParams',
  shader: 'adam.wgsl',
  entryPoint: 'commitParams',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: { ...job },
});

export const advanceStepProgram = (): KernelProgram => ({
  name: 'advanceStep',
  shader: 'advance.wgsl',
  entryPoint: 'advanceStep',
  // A single thread; the shader fixes @workgroup_size(1).
  workgroupSize: 1,
});

/**
 * Samples per thread of evaluation (evaluate.wgsl samplesPerThread, at most its MAX_PER_THREAD): 8 where a sample's
 * hidden history (basis x hidden values) is small, so that every drive and weight a thread loads serves 8 samples; 4
 * elsewhere, so that the histories of a thread's samples still fit a GPU's registers.
 */
export function evaluationSamplesPerThread(shape: Pick<ShapeConstants, 'basisCount' | 'hiddenCount'>): number {
  return shape.basisCount * shape.hiddenCount <= 32 ? 8 : 4;
}

/** Evaluation's weights: a row per (model, sequence), a thread per 4 or 8 samples, each sample's state in registers. */
export const evaluateSamplesProgram = (scheme: Scheme, samples: number, shape: ShapeConstants, job: JobConstants): KernelProgram => {
  const samplesPerThread = evaluationSamplesPerThread(shape);
  return {
    name: `evaluate.samples.${scheme}.${samplesPerThread}`,
    shader: 'evaluate.wgsl',
    entryPoint: 'evaluateSamples',
    workgroupSize: rowWorkgroupSize(Math.ceil(samples / samplesPerThread)),
    constants: { scheme: SCHEME_ID[scheme], samplesPerThread, ...pick(shape, ['visibleCount', 'hiddenCount', 'neuronCount', 'basisCount']), ...job },
  };
};

export const evidenceProgram = (job: JobConstants): KernelProgram => ({
  name: 'evaluate.accumulateEvidence',
  shader: 'evaluate.wgsl',
  entryPoint: 'accumulateEvidence',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: { ...job },
});

export const rawWordsProgram = (): KernelProgram => ({
  name: 'drawNoise.rawWords',
  shader: 'draw_noise.wgsl',
  entryPoint: 'rawWords',
  workgroupSize: DEFAULT_WORKGROUP,
});

export const baseNoiseProgram = (kind: 'uniform' | 'normal' | 'gumbel'): KernelProgram => ({
  name: `drawNoise.baseNoise.${kind}`,
  shader: 'draw_noise.wgsl',
  entryPoint: 'baseNoise',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: { noiseKind: NOISE_KIND_ID[kind] },
});

// ---- the fully observed GLM (shaders/glm.wgsl; the job in src/engine/glm.ts) ----

/** The GLM's shape and job dimensions as pipeline constants: V neurons, no hidden ones, one "sample" per slot. */
function glmConstants(visible: number, job: Omit<JobConstants, 'samplesPerSlot'>): Record<string, number> {
  return { visibleCount: visible, hiddenCount: 0, neuronCount: visible, samplesPerSlot: 1, ...job };
}

/** ln p terms and deltas of every bin: a row per (model, chunk slot), a thread per bin. */
export const glmBinLogLikelihoodProgram = (visible: number, withGradient: boolean, job: Omit<JobConstants, 'samplesPerSlot'>): KernelProgram => ({
  name: `glm.binLogLikelihood${withGradient ? '.grad' : ''}`,
  shader: 'glm.wgsl',
  entryPoint: 'binLogLikelihood',
  workgroupSize: rowWorkgroupSize(job.binCount),
  constants: { withGradient, ...glmConstants(visible, job) },
});

/** The minibatch mean of the gradient and of ln p: a row per model, a thread per parameter and one for ln p. */
export const glmSumGradientProgram = (visible: number, job: Omit<JobConstants, 'samplesPerSlot'>): KernelProgram => ({
  name: 'glm.sumGradient',
  shader: 'glm.wgsl',
  entryPoint: 'sumGradient',
  workgroupSize: rowWorkgroupSize(visible * visible + visible + 1),
  constants: glmConstants(visible, job),
});

/** Each (model, sequence)'s ln p(X): a thread per pair. */
export const glmSequenceLogLikelihoodProgram = (visible: number, job: Omit<JobConstants, 'samplesPerSlot'>): KernelProgram => ({
  name: 'glm.sequenceLogLikelihood',
  shader: 'glm.wgsl',
  entryPoint: 'sequenceLogLikelihood',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: glmConstants(visible, job),
});
