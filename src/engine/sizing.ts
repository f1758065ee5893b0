// Sizing jobs to the device, in one place. A job's workspace is one storage binding, so it must stay under the
// device's binding limit (128 MiB on lavapipe and in browsers by default). Its size is affine in the models of the
// job and in the sequences per chunk of each minibatch, so a job takes as many models as fit with whole minibatches,
// and a single model whose minibatch does not fit runs it in chunks of as many sequences as do.
import { rowsPerShard } from './dataset.js';
import type { JobSpec } from './spec.js';
import { workspaceBytes } from './workspace.js';

/** Per-thread arrays in the stages hold at most 64 hidden units and 256 hidden history values (basis x hidden). */
export const MAX_HIDDEN = 64;
export const MAX_HIDDEN_HISTORY = 256;

/** The most hidden neurons a model with a basis of `basisLength` lags can have (both limits above). */
export function maxHiddenFor(basisLength: number): number {
  return Math.min(MAX_HIDDEN, Math.floor(MAX_HIDDEN_HISTORY / Math.max(1, basisLength)));
}

export function checkShapeLimits(hidden: number, basisLength: number): void {
  if (hidden > MAX_HIDDEN) throw new Error(`hidden is ${hidden}; the kernels hold at most ${MAX_HIDDEN} hidden neurons per model`);
  if (hidden * basisLength > MAX_HIDDEN_HISTORY) {
    throw new Error(
      `hidden x basis length is ${hidden} x ${basisLength} = ${hidden * basisLength}; the kernels keep at most ` +
        `${MAX_HIDDEN_HISTORY} history values per sample: use a shorter basis or fewer hidden neurons`,
    );
  }
}

/**
 * The largest n in 1..cap with size(n) <= bytes, or 0 when even n = 1 does not fit. The size is affine in n but for
 * the 16-byte alignment of each region, so the affine estimate is corrected by a few exact evaluations.
 */
function largestFitting(size: (n: number) => number, bytes: number, cap: number): number {
  const one = size(1);
  if (one > bytes) return 0;
  const step = Math.max(size(2) - one, 1);
  let n = Math.max(1, Math.min(cap, 1 + Math.floor((bytes - one) / step)));
  while (n > 1 && size(n) > bytes) n--;
  while (n < cap && size(n + 1) <= bytes) n++;
  return n;
}

export interface JobPlan {
  /** Models per job (the group is split into jobs of at most this many). */
  modelsPerJob: number;
  /** Sequences per chunk of a minibatch (the whole minibatch when it fits). */
  chunkSlots: number;
  /** Chunks per step. */
  chunks: number;
}

/**
 * How to run `models` models of `spec` (its `models` and `chunkSlots` are chosen here) with every buffer of a job
 * under `bytes`: whole minibatches for as many models as fit, else one model per job in chunks of sequences. A
 * dataset of more rows than one buffer holds is staged chunk by chunk into a buffer of the job's own, which is then
 * bounded the same way.
 */
export function planJobs(spec: Omit<JobSpec, 'models' | 'chunkSlots'>, bins: number, models: number, bytes: number, staged: boolean): JobPlan {
  const withModels = (m: number, chunkSlots = spec.slots): number => workspaceBytes({ ...spec, models: m, chunkSlots }, bins);
  const rowsStaged = staged ? rowsPerShard(bins, spec.layout.visible, bytes, spec.layout.scheme === 'FB') : Infinity;
  const wholeBatches = Math.min(largestFitting((m) => withModels(m), bytes, models), Math.floor(rowsStaged / spec.slots));
  if (wholeBatches >= 1) return { modelsPerJob: wholeBatches, chunkSlots: spec.slots, chunks: 1 };
  const chunkSlots = Math.min(largestFitting((c) => withModels(1, c), bytes, spec.slots), rowsStaged);
  if (chunkSlots < 1) {
    throw new Error(
      `one sequence of one ${spec.layout.scheme}/${spec.method.method} model (${spec.layout.visible} visible + ${spec.layout.hidden} hidden ` +
        `neurons, ${bins} bins, ${spec.samples} samples) needs ${withModels(1, 1)} bytes of workspace, over the device's limit of ` +
        `${bytes} bytes per buffer: use fewer Monte Carlo samples or shorter sequences`,
    );
  }
  return { modelsPerJob: 1, chunkSlots, chunks: Math.ceil(spec.slots / chunkSlots) };
}

/** Whether a dataset of `rows` rows needs several shards under `bytes` per buffer (jobs then stage its rows). */
export function isStaged(rows: number, bins: number, visible: number, bytes: number, antiCausal = true): boolean {
  return rows > rowsPerShard(bins, visible, bytes, antiCausal);
}

/** Bytes one buffer of a job may take on this device: its binding limit, or less if the caller says so. */
export function jobLimitBytes(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }, maxJobBytes?: number): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, maxJobBytes ?? Infinity);
}

/** Samples a chunk of evaluation should hold at least, where the models allow: fewer means more passes over the data. */
const PREFERRED_SAMPLE_CHUNK = 64;

export interface EvaluationPlan extends JobPlan {
  samplesPerChunk: number;
}

/**
 * Sample-bins one evaluation submission may hold: 2^24 is about 0.7 s on two CPU cores (lavapipe) and a few
 * milliseconds on a GPU, so a stop or a lost device ends an evaluation within about a second, and the wait for each
 * submission costs a GPU a few percent at most.
 */
export const MAX_EVALUATION_SUBMISSION = 2 ** 24;

/**
 * Instance-bins one training submission may hold: 2^22 is a fraction of a second on two CPU cores (a training
 * instance-bin costs several evaluation sample-bins) and about a millisecond on a GPU, where the next submission is
 * already queued while one runs (src/engine/training.ts). A stop is then seen within a submission, not an epoch.
 */
export const MAX_TRAINING_SUBMISSION = 2 ** 22;

/** Steps per training submission: as many as MAX_TRAINING_SUBMISSION allows, at least one. */
export function trainingStepsPerSubmission(instances: number, bins: number): number {
  return Math.max(1, Math.floor(MAX_TRAINING_SUBMISSION / Math.max(1, instances * bins)));
}

/**
 * Evaluation of `models` models on `sequences` test sequences each, M = `samples`: as many models per job as fit
 * with all their sequences and a chunk of min(M, 64) samples; else one model with all its sequences and as many
 * samples per chunk as fit; else one model over chunks of sequences. Then as many samples per chunk as there is room,
 * up to MAX_EVALUATION_SUBMISSION sample-bins.
 */
export function planEvaluation(
  spec: Omit<JobSpec, 'models' | 'chunkSlots' | 'samples'>,
  bins: number,
  models: number,
  samples: number,
  bytes: number,
  staged: boolean,
): EvaluationPlan {
  const size = (m: number, chunkSlots: number, chunkSamples: number): number =>
    workspaceBytes({ ...spec, models: m, chunkSlots, samples: chunkSamples }, bins);
  // As many samples as fit the memory, and no more than one submission's share of work (a stop waits for one).
  const samplesFitting = (m: number, chunkSlots: number): number =>
    largestFitting((n) => size(m, chunkSlots, n), bytes, Math.min(samples, Math.max(1, Math.floor(MAX_EVALUATION_SUBMISSION / (m * chunkSlots * bins)))));
  // No more than one sequence of one model holds: a job whose workspace grows fast with the samples (the posterior's
  // keeps every sample's means and counts) then plans fewer per chunk instead of refusing. At least one, so that a
  // sequence too long for even that is refused by planJobs with its message.
  const oneSequence = largestFitting((n) => size(1, 1, n), bytes, PREFERRED_SAMPLE_CHUNK);
  const preferred = Math.max(1, Math.min(samples, PREFERRED_SAMPLE_CHUNK, oneSequence));
  const whole = planJobs({ ...spec, samples: preferred }, bins, models, bytes, staged);
  if (whole.chunks === 1) return { ...whole, samplesPerChunk: samplesFitting(whole.modelsPerJob, spec.slots) };
  const oneModel = samplesFitting(1, spec.slots);
  if (oneModel >= 1 && (!staged || spec.slots <= rowsPerShard(bins, spec.layout.visible, bytes, spec.layout.scheme === 'FB'))) {
    return { modelsPerJob: 1, chunkSlots: spec.slots, chunks: 1, samplesPerChunk: oneModel };
  }
  const chunked = planJobs({ ...spec, samples: 1 }, bins, 1, bytes, staged);
  return { ...chunked, samplesPerChunk: samplesFitting(1, chunked.chunkSlots) };
}
