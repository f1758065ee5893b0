// The modes of a job as data: each mode is the list of stages a step dispatches, in order. A stage recipe turns the
// job's spec into its kernel program and dispatch shape, or into nothing where the stage does not apply (the advance
// stage of a one-chunk gradient job, say). When a step runs in several chunks of its minibatch, every stage runs once
// per chunk except those marked `lastChunk` (Adam and its commit), which run once, after the last chunk has summed the gradient.
import type { Dispatch } from '../gpu/grid.js';
import type { KernelProgram } from '../gpu/kernel.js';
import {
  adamProgram,
  advanceStepProgram,
  commitParamsProgram,
  backwardProgram,
  driveProgram,
  driveThreads,
  evaluateSamplesProgram,
  evaluationSamplesPerThread,
  evidenceProgram,
  gradientTilesPerInstance,
  instanceGradientProgram,
  LOG_JOINT_BINS,
  logJointProgram,
  sampleProgram,
  shapeConstants,
  sumGradientProgram,
  sumInstanceProgram,
  sumSamplesProgram,
  sumWeightsProgram,
  visibleProductProgram,
  visibleProductWorkgroups,
  visibleProductWorkgroupSize,
  type JobConstants,
  type ShapeConstants,
} from './programs.js';
import { computesGradient, isFused, type JobMode, type JobSpec } from './spec.js';
import { factorColumns } from './workspace.js';

/** How a stage is dispatched: items of one thread each, rows of items, or a fixed grid. */
export type StageShape = { count: number } | { rows: number; perRow: number } | { fixed: Dispatch };

export interface StagePlan {
  program: KernelProgram;
  shape: StageShape;
  /** Runs once per step, after the last chunk (default: every chunk). */
  lastChunk?: boolean;
}

/** What the recipes need to know of a job. */
export interface StageContext {
  spec: JobSpec;
  bins: number;
  shape: ShapeConstants;
  job: JobConstants;
  /** (model, sequence) pairs and instances of one chunk. */
  pairs: number;
  instances: number;
  chunks: number;
}

type StageRecipe = (context: StageContext) => StagePlan | undefined;

const isPathwise = ({ spec }: StageContext): boolean => spec.method.info.estimator === 'pathwise';
const isTraining = ({ spec }: StageContext): boolean => computesGradient(spec.mode);

const drive: StageRecipe = (c) => ({
  program: driveProgram(c.spec.layout.scheme, c.bins, c.shape, c.job),
  shape: { rows: c.pairs, perRow: driveThreads(c.bins, c.shape) },
});

const sampleQ: StageRecipe = (c) => {
  // The continuous pathwise methods keep dz/dmu for the backward pass.
  const storeSlope = isTraining(c) && isPathwise(c) && !c.spec.method.info.gumbelSoftmax;
  const sequential = c.spec.layout.scheme === 'FS';
  return {
    program: sampleProgram(c.spec.layout.scheme, c.spec.method, c.spec.noise, c.bins, c.shape, c.job, storeSlope),
    shape: sequential ? { count: c.instances } : { rows: c.instances, perRow: c.bins },
  };
};

const logJoint: StageRecipe = (c) => ({
  program: logJointProgram(
    c.spec.method,
    { withGradient: isTraining(c), storeRates: c.spec.storeRates ?? false, addToWeights: c.spec.mode !== 'logJoint' },
    c.bins,
    c.shape,
    c.job,
  ),
  shape: { rows: c.instances, perRow: Math.ceil(c.bins / LOG_JOINT_BINS) },
});

const backward: StageRecipe = (c) => {
  const sequential = c.spec.layout.scheme === 'FS' && isPathwise(c);
  return {
    program: backwardProgram(c.spec.layout.scheme, c.spec.method, c.bins, c.shape, c.job),
    shape: sequential ? { count: c.instances } : { rows: c.instances, perRow: c.bins },
  };
};

const sumWeights: StageRecipe = (c) => ({ program: sumWeightsProgram(c.job), shape: { count: c.instances } });

const sumInstance: StageRecipe = (c) => ({
  program: sumInstanceProgram(c.spec.layout, c.spec.method, c.shape, c.job),
  shape: { count: c.instances * gradientTilesPerInstance(c.spec.layout) },
});

const sumSamples: StageRecipe = (c) => ({
  program: sumSamplesProgram(c.spec.method, c.shape, c.job),
  shape: { rows: c.pairs, perRow: c.bins * factorColumns(c.spec.layout) },
});

const visibleProduct: StageRecipe = (c) => ({
  program: visibleProductProgram(c.spec.layout, c.shape, c.job),
  shape: {
    rows: c.spec.models,
    perRow: visibleProductWorkgroups(c.spec.layout, visibleProductWorkgroupSize(c.spec.layout)) * visibleProductWorkgroupSize(c.spec.layout),
  },
});

const instanceGradient: StageRecipe = (c) => ({
  program: instanceGradientProgram(c.spec.layout, c.spec.method, c.spec.noise, c.shape, c.job),
  shape: { count: c.instances },
});

const sumGradient: StageRecipe = (c) => ({
  program: sumGradientProgram(c.spec.layout.total, c.shape, c.job, isFused(c.spec)),
  shape: { rows: c.spec.models, perRow: c.spec.layout.total + 1 },
});

const adam: StageRecipe = (c) => ({
  program: adamProgram(c.job),
  shape: { count: c.spec.models * c.spec.layout.total },
  lastChunk: true,
});

// Keeps Adam's update only where the whole model stayed finite.
const commit: StageRecipe = (c) => ({
  program: commitParamsProgram(c.job),
  shape: { count: c.spec.models * c.spec.layout.total },
  lastChunk: true,
});

// Moves to the next chunk, and after the last to the next step. A one-chunk gradient job takes no step.
const advance: StageRecipe = (c) =>
  c.spec.mode === 'train' || c.chunks > 1 ? { program: advanceStepProgram(), shape: { fixed: [1, 1, 1] } } : undefined;

const evaluateSamples: StageRecipe = (c) => ({
  program: evaluateSamplesProgram(c.spec.layout.scheme, c.spec.samples, c.shape, c.job),
  shape: { rows: c.pairs, perRow: Math.ceil(c.spec.samples / evaluationSamplesPerThread(c.shape)) },
});

const accumulateEvidence: StageRecipe = (c) => ({ program: evidenceProgram(c.job), shape: { count: c.pairs } });

export const JOB_STAGES: Record<JobMode, readonly StageRecipe[]> = {
  train: [drive, sampleQ, logJoint, backward, sumWeights, sumInstance, sumSamples, visibleProduct, sumGradient, adam, commit, advance],
  gradient: [drive, sampleQ, logJoint, backward, sumWeights, sumInstance, sumSamples, visibleProduct, sumGradient, advance],
  evaluate: [drive, evaluateSamples, accumulateEvidence],
  logJoint: [drive, sampleQ, logJoint, sumWeights],
  logQ: [drive, sampleQ],
  // The hidden neurons' posterior (src/engine/posterior.ts): q's means and samples are what the sampling stage stores.
  posterior: [drive, sampleQ],
};

/**
 * The fused path of the gradient modes (src/engine/spec.ts isFused): small models, whose staged step is mostly
 * dispatches and round trips through storage, do the first eight stages in one (shaders/instance_gradient.wgsl).
 */
export const FUSED_JOB_STAGES: Partial<Record<JobMode, readonly StageRecipe[]>> = {
  train: [instanceGradient, sumGradient, adam, commit, advance],
  gradient: [instanceGradient, sumGradient, advance],
};

/**
 * Who moves a step through its chunks: the device (the advance stage, so many steps fit one submission) or the host
 * (evaluation and the posterior read each chunk of sequences' results before the next, one chunk per submission).
 */
export const JOB_CHUNKING: Record<JobMode, 'device' | 'host'> = {
  train: 'device',
  gradient: 'device',
  evaluate: 'host',
  logJoint: 'device',
  logQ: 'device',
  // The posterior reads each chunk's means and samples back before the next, as evaluation reads its evidence.
  posterior: 'host',
};

/** The stages of a job's step, in dispatch order. */
export function planStages(context: StageContext): StagePlan[] {
  const table = isFused(context.spec) ? FUSED_JOB_STAGES : JOB_STAGES;
  return table[context.spec.mode]!.map((recipe) => recipe(context)).filter((plan): plan is StagePlan => plan !== undefined);
}

export function stageContext(spec: JobSpec, bins: number, chunkSlots: number, chunks: number): StageContext {
  const pairs = spec.models * chunkSlots;
  return {
    spec,
    bins,
    shape: shapeConstants(spec.layout, spec.basis.length, spec.method),
    job: { samplesPerSlot: spec.samples, chunkSlotCount: chunkSlots, binCount: bins },
    pairs,
    instances: pairs * spec.samples,
    chunks,
  };
}
