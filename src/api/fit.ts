// Fitting: `fit` for one model, `fitMany` for any number in one job. Fits that must share kernels (same data shape,
// hidden count, scheme, method and training settings) form a group that advances with one fixed list of dispatches
// per step; each keeps its own seed, Adam state and failure flag. Groups larger than the device allows are split
// into chunks, and the split is reported.
import { rowsPerShard, uploadDataset, type DataPlacement, type DeviceDataset, type UploadOptions } from '../engine/dataset.js';
import { PAPER_ADAM } from '../model/adam.js';
import { jobLimitBytes, planJobs, type JobPlan } from '../engine/sizing.js';
import type { GpuSession } from '../engine/session.js';
import { withSession } from '../engine/session.js';
import { initialParams } from '../model/schedule.js';
import { trainGroup, type TrainingOutcome } from '../engine/training.js';
import { ModelEvaluation } from '../engine/evaluation.js';
import type { VariationalJob } from '../engine/job.js';
import { ValidationTracker } from './validation.js';
import type { TrainingCheckpoint } from '../model/checkpoint.js';
import { buildModel, flattenModel, type TrainingRecord } from '../model/json.js';
import { paramLayout, type ParamLayout } from '../model/params.js';
import { convergenceOf } from '../model/convergence.js';
import { NoisePurpose } from '../model/philox.js';
import {
  groupKey,
  NonFiniteError,
  positiveInteger,
  resolveJob,
  type CheckpointOptions,
  type FitCheckpoint,
  type FitEpoch,
  type FitJob,
  type FitProgress,
  type FitResult,
  type FitSettings,
  type HostFitJob,
  type ResolvedJob,
} from './fit-jobs.js';
import { hostCounts, readItemCounts, type CountArray, type SpikeCounts } from './counts.js';
import { FitLedger, scheduleChunks } from './fit-ledger.js';
import { fitGlmMany, type GlmFitJob } from './glm.js';
import { publishEpoch, type EpochListener } from './fit-epochs.js';

export {
  FIT_CHECKPOINT_FORMAT,
  NonFiniteError,
  type CheckpointOptions,
  type FitCheckpoint,
  type FitEpoch,
  type FitFingerprint,
  type FitJob,
  type FitProgress,
  type FitResult,
  type FitSettings,
} from './fit-jobs.js';
export type { EpochListener } from './fit-epochs.js';

export interface FitManyOptions {
  session?: GpuSession;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
  /** Bytes the largest buffer of one job may take; default the device's binding limit. */
  maxJobBytes?: number;
  /**
   * Where the training data lives: 'device'; 'host', each minibatch's rows written to the device as it runs (for
   * data the device cannot hold); or 'auto' (the default), the device unless it runs out of memory.
   */
  dataPlacement?: DataPlacement;
  /** Most training steps per GPU submission (fewer: a quicker response to `signal`); default a whole epoch. */
  stepsPerSubmit?: number;
  /** Save the call's progress as it goes, and resume from a saved state (see CheckpointOptions). */
  checkpoint?: CheckpointOptions<FitCheckpoint>;
  /**
   * After every epoch of every fit: its parameters as a model and its epoch ELBO (FitEpoch), awaited before training
   * goes on. Costs one read of the job's parameters per epoch, so it is only done when given.
   */
  onEpoch?: EpochListener;
}

/** How a group's fits split into jobs and their minibatches into chunks on this device (src/engine/sizing.ts). */
function planGroup(jobs: ResolvedJob[], bytes: number, staged: boolean): JobPlan {
  const first = jobs[0];
  const layout = paramLayout(first.job.train[0][0].length, first.job.hidden, first.scheme);
  const slots = Math.min(first.batchSize, first.sequences);
  return planJobs(
    {
      layout,
      basis: first.basis,
      method: first.method,
      slots,
      samples: first.samples,
      stepsPerEpoch: Math.ceil(first.sequences / slots),
      noise: 'philox',
      mode: 'train',
      purpose: NoisePurpose.train,
    },
    first.bins,
    jobs.length,
    bytes,
    staged,
  );
}

function trainingRecord(job: ResolvedJob, outcome: TrainingOutcome, member: number, adapter: string): TrainingRecord {
  const result = outcome.members[member];
  const record: TrainingRecord = {
    epochs: job.epochs,
    epochsCompleted: result.failedAtStep === undefined ? outcome.epochsCompleted : result.elboHistory.length,
    steps: outcome.steps,
    batchSize: job.batchSize,
    samples: job.samples,
    learningRateGenerative: job.learningRateGenerative,
    learningRateVariational: job.learningRateVariational,
    seed: job.seed,
    elboHistory: result.elboHistory,
    adapter,
  };
  if (result.failedAtStep !== undefined) {
    record.stoppedEarly = {
      reason: 'non-finite',
      step: result.failedAtStep,
      message: `the ELBO or its gradient became non-finite at step ${result.failedAtStep}`,
    };
  } else if (outcome.interrupted) {
    record.stoppedEarly = { reason: 'interrupted', message: `interrupted after ${outcome.steps} steps` };
  }
  const convergence = convergenceOf(result.elboHistory);
  if (convergence) record.convergence = convergence;
  return record;
}

/**
 * Fits every job; results come back in the order of `jobs`. A failing fit does not stop the others. After an abort
 * (`options.signal`), the jobs that had not started have no entry (the array has holes there); the others hold what
 * they learned, with `interrupted: true` where they were cut short. With `options.checkpoint`, the progress is saved
 * as it goes (the last save holds the state at a stop), and a call resumed from it skips the jobs that ended and
 * continues the one that was running.
 */
export async function fitMany(given: FitJob[], options: FitManyOptions = {}): Promise<FitResult[]> {
  if (!Array.isArray(given) || given.length === 0) throw new Error('fitMany needs at least one job');
  const jobs: HostFitJob[] = await readItemCounts(given, ['train'], options.session, (index) => (given.length > 1 ? `jobs[${index}].train` : 'train'));
  const glm = jobs.flatMap((job, index) => (job?.hidden === 0 ? [index] : []));
  if (glm.length === 0) return fitPoglmMany(jobs, options);
  // Hidden 0 is the fully observed GLM, the baseline of every POGLM: its own exact kernels (src/api/glm.ts). Its fits
  // are cheap and deterministic, so a resumed call refits them rather than checkpointing them.
  const rest = jobs.flatMap((job, index) => (job?.hidden === 0 ? [] : [index]));
  const results: FitResult[] = new Array(jobs.length);
  // onEpoch names each fit by its index in this call's jobs, not in the POGLM's or the GLM's share of them.
  const renumbered = (indices: number[]): Pick<FitManyOptions, 'onEpoch'> =>
    options.onEpoch ? { onEpoch: (event: FitEpoch) => options.onEpoch!({ ...event, index: indices[event.index] }) } : {};
  if (rest.length > 0) (await fitPoglmMany(rest.map((index) => jobs[index]), { ...options, ...renumbered(rest) })).forEach((result, i) => (results[rest[i]] = result));
  if (options.signal?.aborted) return results;
  const glmResults = await fitGlmMany(
    glm.map((index) => glmJob(jobs[index])),
    {
      session: options.session,
      signal: options.signal,
      onProgress: options.onProgress,
      maxJobBytes: options.maxJobBytes,
      stepsPerSubmit: options.stepsPerSubmit,
      ...renumbered(glm),
    },
  );
  glmResults.forEach((result, i) => (results[glm[i]] = result));
  return results;
}

/** A fit job of hidden 0 as the GLM takes it: the generative learning rate is the GLM's only one. */
function glmJob(job: HostFitJob): GlmFitJob {
  if (job.epochs === 'auto') throw new Error("a fit with hidden 0 (the GLM) takes a number of epochs, not 'auto'");
  return {
    train: job.train,
    ...(job.epochs !== undefined ? { epochs: job.epochs } : {}),
    ...(job.batchSize !== undefined ? { batchSize: job.batchSize } : {}),
    ...(job.learningRateGenerative !== undefined ? { learningRate: job.learningRateGenerative } : {}),
    ...(job.seed !== undefined ? { seed: job.seed } : {}),
    ...(job.basis !== undefined ? { basis: job.basis } : {}),
    ...(job.init !== undefined ? { init: job.init } : {}),
    ...(job.label !== undefined ? { label: job.label } : {}),
  };
}

async function fitPoglmMany(jobs: HostFitJob[], options: FitManyOptions): Promise<FitResult[]> {
  const resolved = jobs.map((job, index) => resolveJob(job, index, jobs.length > 1));
  if (options.stepsPerSubmit !== undefined) positiveInteger('stepsPerSubmit', options.stepsPerSubmit);
  const groups = new Map<string, ResolvedJob[]>();
  for (const job of resolved) {
    const key = groupKey(job);
    groups.set(key, [...(groups.get(key) ?? []), job]);
  }
  const ledger = FitLedger.open(resolved, options.checkpoint);
  return withSession(options.session, async (session) => {
    const results: FitResult[] = new Array(jobs.length);
    for (const [index, result] of ledger.completed) results[index] = result;
    const progress = { fitsDone: ledger.completed.size, started: performance.now() };
    const report = (group: string, epoch: number, epochs: number, meanElbo: number | null, note?: string): void => {
      const elapsedSeconds = (performance.now() - progress.started) / 1000;
      options.onProgress?.({
        fitsDone: progress.fitsDone,
        fitsTotal: jobs.length,
        group,
        epoch,
        epochs,
        meanElbo,
        elapsedSeconds,
        fitsPerSecond: progress.fitsDone / Math.max(elapsedSeconds, 1e-9),
        ...(note ? { note } : {}),
      });
    };
    const limit = jobLimitBytes(session.context.limits, options.maxJobBytes);
    for (const members of groups.values()) {
      const first = members[0];
      // The rows a job uploads: each distinct training array once, in as many buffers as the limit needs.
      const dataRows = new Set(members.map((job) => job.job.train)).size * first.sequences;
      const shards = Math.ceil(dataRows / rowsPerShard(first.bins, first.job.train[0][0].length, limit, first.scheme === 'FB'));
      const plan = planGroup(members, limit, shards > 1 || options.dataPlacement === 'host');
      const perJob = plan.modelsPerJob;
      const chunks = Math.ceil(members.length / perJob);
      const scheduled = scheduleChunks(members, perJob, ledger);
      if (scheduled.length === 0) continue;
      const name = `${first.scheme}/${first.method.method} H=${first.job.hidden} x ${members.length}`;
      const notes = [
        chunks > 1 ? `split into ${chunks} jobs of at most ${perJob} fits` : '',
        plan.chunks > 1 ? `each minibatch in ${plan.chunks} chunks of ${plan.chunkSlots} sequences` : '',
        shards > 1 ? `the training data in ${shards} buffers, staged per minibatch` : '',
      ].filter(Boolean);
      const note = notes.length > 0 ? `${name} ${notes.join(', ')}, to stay within ${limit} bytes per buffer` : undefined;
      for (const { part, resume, chunk } of scheduled) {
        if (options.signal?.aborted) break;
        const upload = { maxShardBytes: limit, placement: options.dataPlacement, antiCausal: first.scheme === 'FB' };
        // A resumed job keeps the chunking of the minibatch it ran with: its gradients are summed in that grouping.
        const chunkSlots = resume?.chunkSlots ?? plan.chunkSlots;
        const indices = part.map((job) => job.index);
        const { results: chunkResults, interrupted } = await trainChunk(session, part, chunkSlots, upload, {
          signal: options.signal,
          stepsPerSubmit: options.stepsPerSubmit,
          resume: resume?.training,
          every: ledger.every,
          onCheckpoint: ledger.saving ? (state) => ledger.training(indices, chunkSlots, state) : undefined,
          onEpoch: (epoch, meanElbo) => report(chunks > 1 ? `${name} (job ${chunk + 1}/${chunks})` : name, epoch, first.epochs, meanElbo, note),
          onEpochModel: options.onEpoch,
        });
        chunkResults.forEach((result, i) => (results[part[i].index] = result));
        if (!interrupted) await ledger.ended(part, chunkResults);
        progress.fitsDone += part.length;
        report(name, first.epochs, first.epochs, null, note);
      }
    }
    return results;
  });
}

interface ChunkTraining {
  signal?: AbortSignal;
  stepsPerSubmit?: number;
  /** The state the job stopped in, to continue from. */
  resume?: TrainingCheckpoint;
  /** Epochs between checkpoints. */
  every: number;
  onCheckpoint?: (state: TrainingCheckpoint) => Promise<void>;
  onEpoch: (epoch: number, meanElbo: number | null) => void;
  /** FitManyOptions.onEpoch: each fit's model after each epoch. */
  onEpochModel?: EpochListener;
}

/** Trains one job's worth of fits of one group and turns the outcome into results. */
async function trainChunk(
  session: GpuSession,
  part: ResolvedJob[],
  chunkSlots: number,
  upload: UploadOptions,
  training: ChunkTraining,
): Promise<{ results: FitResult[]; interrupted: boolean }> {
  const first = part[0];
  const layout = paramLayout(first.job.train[0][0].length, first.job.hidden, first.scheme);
  // Each distinct training array is uploaded once; fits that share it read the same rows.
  const arrays: number[][][][] = [];
  const firstRow = part.map((job) => {
    let position = arrays.indexOf(job.job.train);
    if (position < 0) position = arrays.push(job.job.train) - 1;
    return position * first.sequences;
  });
  const dataset: DeviceDataset = await uploadDataset(session, arrays, first.basis, 'train', {}, upload);
  // A fit trained to convergence is alone in its job (groupKey): its held-out sequences decide when it stops.
  const validation = first.validation ? await heldOutCheck(session, first, layout, upload) : undefined;
  // The members' ELBO of the epoch just run, kept for onEpochModel, which reads the parameters after it.
  let epochElbo: Float64Array = new Float64Array(part.length);
  const publish = training.onEpochModel;
  const shape = { layout, method: first.method, epochs: first.epochs };
  const members = part.map((fit) => ({ index: fit.index, label: fit.job.label, basis: fit.basis }));
  const afterEpoch = async (job: VariationalJob, epochsCompleted: number): Promise<boolean> => {
    if (publish) await publishEpoch(publish, members, shape, epochsCompleted, await job.readParams(), epochElbo);
    return validation ? validation.afterEpoch(job, epochsCompleted) : false;
  };
  try {
    const outcome = await trainGroup(
      session,
      dataset,
      {
        layout,
        basis: first.basis,
        method: first.method,
        members: part.map((job, i) => ({
          seed: job.seed,
          firstRow: firstRow[i],
          sequences: job.sequences,
          init: job.job.init ? flattenModel(job.job.init).params : initialParams(layout, job.seed),
        })),
        batchSize: first.batchSize,
        samples: first.samples,
        chunkSlots,
        epochs: first.epochs,
        adam: { ...PAPER_ADAM, learningRateGenerative: first.learningRateGenerative, learningRateVariational: first.learningRateVariational },
        stepsPerSubmit: training.stepsPerSubmit,
      },
      {
        signal: training.signal,
        resume: training.resume,
        checkpointEvery: training.every,
        onCheckpoint: training.onCheckpoint,
        ...(validation || publish ? { afterEpoch } : {}),
        onEpoch: (epochReport) => {
          epochElbo = epochReport.elbo;
          const running = Array.from(epochReport.elbo).filter(Number.isFinite);
          training.onEpoch(epochReport.epoch, running.length > 0 ? running.reduce((a, b) => a + b, 0) / running.length : null);
        },
      },
    );
    const results = part.map((job, i) => {
      const member = outcome.members[i];
      const record = trainingRecord(job, outcome, i, session.adapter);
      if (validation) record.validation = validation.tracker.summary(outcome.epochsCompleted, outcome.interrupted);
      const result: FitResult = {
        model: buildModel({ layout, params: member.params, method: job.method, basis: job.basis }, record),
        elboHistory: member.elboHistory,
        steps: outcome.steps,
        epochsCompleted: record.epochsCompleted,
        interrupted: outcome.interrupted,
        dispatchesPerStep: outcome.dispatchesPerStep,
      };
      if (job.job.label !== undefined) result.label = job.job.label;
      if (member.failedAtStep !== undefined) {
        const epoch = Math.floor(member.failedAtStep / Math.ceil(job.sequences / job.batchSize)) + 1;
        result.failure = {
          step: member.failedAtStep,
          message: `the ELBO or its gradient became non-finite at step ${member.failedAtStep} (epoch ${epoch}); the model holds the parameters from before that step`,
        };
      }
      return result;
    });
    return { results, interrupted: outcome.interrupted };
  } finally {
    dataset.release();
    validation?.release();
  }
}

/**
 * The held-out check of a fit with epochs 'auto': its validation sequences on the device, and after each epoch their
 * mean ELBO under the current parameters (Poisson-switched, as evaluation scores; the same noise every epoch).
 */
async function heldOutCheck(session: GpuSession, job: ResolvedJob, layout: ParamLayout, upload: UploadOptions) {
  const { data, settings } = job.validation!;
  const dataset = await uploadDataset(session, [data], job.basis, 'validation', {}, upload);
  let evaluation: ModelEvaluation;
  try {
    evaluation = await ModelEvaluation.create(session, dataset, { layout, basis: job.basis, models: 1, sequences: data.length, samples: settings.samples, maxChunkBytes: upload.maxShardBytes });
  } catch (error) {
    dataset.release();
    throw error;
  }
  const tracker = new ValidationTracker(settings);
  return {
    tracker,
    release: () => {
      evaluation.destroy();
      dataset.release();
    },
    afterEpoch: async (training: VariationalJob, epochsCompleted: number): Promise<boolean> => {
      const params = (await training.readParams()).subarray(0, layout.total);
      const outcome = await evaluation.run([{ params, seed: job.seed, firstRow: 0 }]);
      const elbo = outcome.elbo[0].reduce((a, b) => a + b, 0) / data.length;
      return tracker.record(epochsCompleted, elbo);
    },
  };
}

/**
 * Fits one POGLM. A non-finite ELBO or gradient throws NonFiniteError naming the step, with the last finite model in
 * `error.result`; an aborted `signal` returns what was learned so far with `interrupted: true`.
 */
export async function fit(train: SpikeCounts, settings: FitSettings, options: FitManyOptions = {}): Promise<FitResult> {
  const [result] = await fitMany([{ ...settings, train }], options);
  if (!result) {
    options.signal?.throwIfAborted();
    throw new Error('the fit was interrupted before it started');
  }
  if (result.failure) throw new NonFiniteError(`fit stopped: ${result.failure.message}`, result);
  return result;
}

/**
 * Checks, without a GPU, that `state` is a checkpoint of this fit (the same settings and data): the check `fit` makes
 * when it resumes, for callers that want to refuse a wrong checkpoint before they start anything. Throws
 * CheckpointMismatchError naming what differs, or an Error for a state that is not a fit checkpoint.
 */
export function checkFitResume(train: number[][][] | CountArray, settings: FitSettings, state: FitCheckpoint): void {
  FitLedger.open([resolveJob({ ...settings, train: hostCounts('train', train) }, 0, false)], { save: () => undefined, resume: state });
}
