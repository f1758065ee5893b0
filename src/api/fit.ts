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
import { validateCounts } from '../model/data.js';
import { buildModel, flattenModel, type PoglmModelJson, type TrainingRecord } from '../model/json.js';
import { paramLayout } from '../model/params.js';
import { isScheme, resolveMethod, SCHEMES, type Method, type ResolvedMethod, type Scheme } from '../model/types.js';
import { exponentialBasis } from '../model/basis.js';
import { NoisePurpose } from '../model/philox.js';

export interface FitSettings {
  hidden: number;
  scheme: Scheme;
  method: Method;
  tau?: number;
  categories?: number;
  /** Default 20. */
  epochs?: number;
  /** Sequences per minibatch; default 10. */
  batchSize?: number;
  /** Monte Carlo samples per sequence; default 5. */
  samples?: number;
  learningRateGenerative?: number;
  learningRateVariational?: number;
  seed?: number;
  /** History basis; default exponential decay 0.25 over 5 bins. */
  basis?: number[];
  /** Start from this model's parameters instead of the paper's initialisation. */
  init?: PoglmModelJson;
}

export interface FitJob extends FitSettings {
  /** Training sequences x[s][t][v]. Jobs that pass the same array object share its upload. */
  train: number[][][];
  /** A label carried into progress and results (e.g. "trial 3 seed 1 FB exponential"). */
  label?: string;
}

export interface FitProgress {
  fitsDone: number;
  fitsTotal: number;
  /** The group now training, e.g. "FB/exponential H=2 x 210". */
  group: string;
  epoch: number;
  epochs: number;
  /** Mean ELBO over the group's running fits in the last epoch. */
  meanElbo: number;
  elapsedSeconds: number;
  fitsPerSecond: number;
  /** Set when a group had to be split to fit the device. */
  note?: string;
}

export interface FitResult {
  label?: string;
  model: PoglmModelJson;
  elboHistory: number[];
  steps: number;
  epochsCompleted: number;
  interrupted: boolean;
  /** Present when the fit stopped at a non-finite ELBO or gradient; `model` holds the last finite parameters. */
  failure?: { step: number; message: string };
  dispatchesPerStep: number;
}

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
}

export class NonFiniteError extends Error {
  constructor(
    message: string,
    /** The fit as it stood: the model holds the last finite parameters. */
    readonly result: FitResult,
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

interface ResolvedJob {
  index: number;
  job: FitJob;
  method: ResolvedMethod;
  scheme: Scheme;
  basis: number[];
  epochs: number;
  batchSize: number;
  samples: number;
  learningRateGenerative: number;
  learningRateVariational: number;
  seed: number;
  sequences: number;
  bins: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}

function resolveJob(job: FitJob, index: number, many: boolean): ResolvedJob {
  const where = many ? `jobs[${index}]` : 'fit';
  if (!isScheme(String(job.scheme))) throw new Error(`${where}.scheme is ${JSON.stringify(job.scheme)}; use one of ${SCHEMES.join(', ')}`);
  let method: ResolvedMethod;
  try {
    method = resolveMethod({ method: job.method, tau: job.tau, categories: job.categories });
  } catch (error) {
    throw new Error(`${where}.${(error as Error).message}`);
  }
  if (!Number.isInteger(job.hidden) || job.hidden < 1) {
    throw new Error(`${where}.hidden must be a positive integer (got ${job.hidden}): a POGLM without hidden neurons has nothing to infer; fit H >= 1`);
  }
  const shape = validateCounts(many ? `${where}.train` : 'train', job.train);
  // A fit that starts from a model keeps that model's basis: its weights mean nothing with another one.
  const basis = job.basis ?? job.init?.basis ?? exponentialBasis(5);
  const seed = job.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`${where}.seed must be an integer in [0, 2^32)`);
  for (const [name, value] of [
    ['learningRateGenerative', job.learningRateGenerative],
    ['learningRateVariational', job.learningRateVariational],
  ] as const) {
    if (value !== undefined && !(value > 0 && Number.isFinite(value))) throw new Error(`${where}.${name} must be a positive number`);
  }
  if (job.init) {
    if (!job.init.variational) {
      throw new Error(`${where}.init has no variational part: start from a fitted model (as fit writes it), or leave init out`);
    }
    if (JSON.stringify(job.init.basis) !== JSON.stringify(basis)) {
      throw new Error(`${where}.basis differs from the basis of ${where}.init: leave basis out to keep the init model's`);
    }
    const init = flattenModel(job.init);
    if (init.layout.visible !== shape.neurons || init.layout.hidden !== job.hidden || init.layout.scheme !== job.scheme) {
      throw new Error(`${where}.init is a ${init.layout.visible}+${init.layout.hidden} ${init.layout.scheme} model; the fit needs ${shape.neurons}+${job.hidden} ${job.scheme}`);
    }
  }
  return {
    index,
    job,
    method,
    scheme: job.scheme,
    basis,
    epochs: positiveInteger(`${where}.epochs`, job.epochs ?? 20),
    batchSize: positiveInteger(`${where}.batchSize`, job.batchSize ?? 10),
    samples: positiveInteger(`${where}.samples`, job.samples ?? 5),
    learningRateGenerative: job.learningRateGenerative ?? PAPER_ADAM.learningRateGenerative,
    learningRateVariational: job.learningRateVariational ?? PAPER_ADAM.learningRateVariational,
    seed,
    sequences: shape.sequences,
    bins: shape.bins,
  };
}

function groupKey(job: ResolvedJob): string {
  return JSON.stringify([
    job.job.train[0][0].length,
    job.bins,
    job.sequences,
    job.job.hidden,
    job.scheme,
    job.method.method,
    job.method.tau,
    job.method.categories,
    job.epochs,
    job.batchSize,
    job.samples,
    job.learningRateGenerative,
    job.learningRateVariational,
    job.basis,
  ]);
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
  return record;
}

/**
 * Fits every job; results come back in the order of `jobs`. A failing fit does not stop the others. After an abort
 * (`options.signal`), the jobs that had not started have no entry (the array has holes there); the others hold what
 * they learned, with `interrupted: true` where they were cut short.
 */
export async function fitMany(jobs: FitJob[], options: FitManyOptions = {}): Promise<FitResult[]> {
  if (!Array.isArray(jobs) || jobs.length === 0) throw new Error('fitMany needs at least one job');
  const resolved = jobs.map((job, index) => resolveJob(job, index, jobs.length > 1));
  const groups = new Map<string, ResolvedJob[]>();
  for (const job of resolved) {
    const key = groupKey(job);
    groups.set(key, [...(groups.get(key) ?? []), job]);
  }
  return withSession(options.session, async (session) => {
    const results: FitResult[] = new Array(jobs.length);
    const progress = { fitsDone: 0, started: performance.now() };
    const report = (group: string, epoch: number, epochs: number, meanElbo: number, note?: string): void => {
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
      const name = `${first.scheme}/${first.method.method} H=${first.job.hidden} x ${members.length}`;
      const notes = [
        chunks > 1 ? `split into ${chunks} jobs of at most ${perJob} fits` : '',
        plan.chunks > 1 ? `each minibatch in ${plan.chunks} chunks of ${plan.chunkSlots} sequences` : '',
        shards > 1 ? `the training data in ${shards} buffers, staged per minibatch` : '',
      ].filter(Boolean);
      const note = notes.length > 0 ? `${name} ${notes.join(', ')}, to stay within ${limit} bytes per buffer` : undefined;
      for (let chunk = 0; chunk < chunks && !options.signal?.aborted; chunk++) {
        const part = members.slice(chunk * perJob, (chunk + 1) * perJob);
        const upload = { maxShardBytes: limit, placement: options.dataPlacement, antiCausal: first.scheme === 'FB' };
        const chunkResults = await trainChunk(session, part, plan.chunkSlots, upload, options.signal, (epoch, meanElbo) =>
          report(chunks > 1 ? `${name} (job ${chunk + 1}/${chunks})` : name, epoch, first.epochs, meanElbo, note),
        );
        chunkResults.forEach((result, i) => (results[part[i].index] = result));
        progress.fitsDone += part.length;
        report(name, first.epochs, first.epochs, Number.NaN, note);
      }
    }
    return results;
  });
}

/** Trains one job's worth of fits of one group and turns the outcome into results. */
async function trainChunk(
  session: GpuSession,
  part: ResolvedJob[],
  chunkSlots: number,
  upload: UploadOptions,
  signal: AbortSignal | undefined,
  onEpoch: (epoch: number, meanElbo: number) => void,
): Promise<FitResult[]> {
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
      },
      {
        signal,
        onEpoch: (epochReport) => {
          const running = Array.from(epochReport.elbo).filter(Number.isFinite);
          onEpoch(epochReport.epoch, running.reduce((a, b) => a + b, 0) / Math.max(running.length, 1));
        },
      },
    );
    return part.map((job, i) => {
      const member = outcome.members[i];
      const record = trainingRecord(job, outcome, i, session.adapter);
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
  } finally {
    dataset.release();
  }
}

/**
 * Fits one POGLM. A non-finite ELBO or gradient throws NonFiniteError naming the step, with the last finite model in
 * `error.result`; an aborted `signal` returns what was learned so far with `interrupted: true`.
 */
export async function fit(train: number[][][], settings: FitSettings, options: FitManyOptions = {}): Promise<FitResult> {
  const [result] = await fitMany([{ ...settings, train }], options);
  if (!result) {
    options.signal?.throwIfAborted();
    throw new Error('the fit was interrupted before it started');
  }
  if (result.failure) throw new NonFiniteError(`fit stopped: ${result.failure.message}`, result);
  return result;
}
