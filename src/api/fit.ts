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
import {
  CheckpointMismatchError,
  checkFingerprint,
  checkFormat,
  hashCounts,
  hashJson,
  type TrainingCheckpoint,
} from '../model/checkpoint.js';
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
  /** Most training steps per GPU submission (fewer: a quicker response to `signal`); default a whole epoch. */
  stepsPerSubmit?: number;
  /** Save the call's progress as it goes, and resume from a saved state (see CheckpointOptions). */
  checkpoint?: CheckpointOptions<FitCheckpoint>;
}

/**
 * Checkpointing, in any environment (the library never touches files: `save` decides where a state goes). A
 * resumed call gives exactly, bit for bit, the results of a call that never stopped.
 */
export interface CheckpointOptions<State> {
  /** Epochs between saves while a job trains; default 1. A save also follows every job's end and any stop. */
  every?: number;
  /** Receives each new state, plain JSON data (JSON.stringify it as it is); awaited before the work goes on. */
  save: (state: State) => void | Promise<void>;
  /** A state an earlier call with the same jobs and data saved: finished work is kept, the rest continues. */
  resume?: State;
}

export const FIT_CHECKPOINT_FORMAT = 'poglm-gpu.fit-checkpoint';

/** A fitMany (or fit) call's progress: what a resume needs to skip what was done and continue what was running. */
export interface FitCheckpoint {
  format: typeof FIT_CHECKPOINT_FORMAT;
  version: 1;
  /** Each job's settings and a hash of its data: a resume with other jobs is refused, naming what differs. */
  jobs: FitFingerprint[];
  /** Results of the jobs whose training ended (every epoch run, or a non-finite stop), by index into `jobs`. */
  completed: { index: number; result: FitResult }[];
  /** The training job that was running when the state was saved: its fits (in member order) and its state. */
  inProgress?: { indices: number[]; chunkSlots: number; training: TrainingCheckpoint };
}

/** What makes a fit's numbers: its settings, resolved, and hashes of its training data and start model. */
export interface FitFingerprint {
  visible: number;
  sequences: number;
  bins: number;
  hidden: number;
  scheme: Scheme;
  method: Method;
  tau: number;
  categories: number;
  epochs: number;
  batchSize: number;
  samples: number;
  learningRateGenerative: number;
  learningRateVariational: number;
  basis: number[];
  seed: number;
  /** hashCounts of the training data. */
  train: string;
  /** hashJson of the start model, or null for the paper's initialisation. */
  init: string | null;
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

function fitFingerprint(job: ResolvedJob, dataHash: string): FitFingerprint {
  return {
    visible: job.job.train[0][0].length,
    sequences: job.sequences,
    bins: job.bins,
    hidden: job.job.hidden,
    scheme: job.scheme,
    method: job.method.method,
    tau: job.method.tau,
    categories: job.method.categories,
    epochs: job.epochs,
    batchSize: job.batchSize,
    samples: job.samples,
    learningRateGenerative: job.learningRateGenerative,
    learningRateVariational: job.learningRateVariational,
    basis: job.basis,
    seed: job.seed,
    train: dataHash,
    init: job.job.init ? hashJson(job.job.init) : null,
  };
}

type InProgress = NonNullable<FitCheckpoint['inProgress']>;

/**
 * A call's checkpoint as it grows: the results of jobs that ended and the state of the one running, saved through
 * the caller's `save`. Without checkpoint options it keeps nothing and saves nothing.
 */
class FitLedger {
  readonly completed = new Map<number, FitResult>();
  inProgress?: InProgress;

  private constructor(
    private readonly fingerprints: FitFingerprint[],
    private readonly options?: CheckpointOptions<FitCheckpoint>,
  ) {}

  static open(resolved: ResolvedJob[], options?: CheckpointOptions<FitCheckpoint>): FitLedger {
    if (!options) return new FitLedger([]);
    if (typeof options.save !== 'function') throw new Error('checkpoint.save must be a function that keeps each state');
    if (options.every !== undefined) positiveInteger('checkpoint.every', options.every);
    // Jobs that share a training array share its hash, as they share its upload.
    const hashes = new Map<number[][][], string>();
    const hashOf = (train: number[][][]): string => hashes.get(train) ?? hashes.set(train, hashCounts(train)).get(train)!;
    const ledger = new FitLedger(resolved.map((job) => fitFingerprint(job, hashOf(job.job.train))), options);
    if (options.resume !== undefined) ledger.restore(options.resume, resolved);
    return ledger;
  }

  get every(): number {
    return this.options?.every ?? 1;
  }

  get saving(): boolean {
    return this.options !== undefined;
  }

  /** Takes over a saved state after checking it is one of these jobs. */
  private restore(state: FitCheckpoint, resolved: ResolvedJob[]): void {
    checkFormat(state, FIT_CHECKPOINT_FORMAT, 'checkpoint.resume');
    const many = resolved.length > 1;
    if (!Array.isArray(state.jobs) || state.jobs.length !== resolved.length) {
      throw new CheckpointMismatchError(many ? 'these fits' : 'the fit', [`the checkpoint holds ${state.jobs?.length} fits, this call has ${resolved.length}`]);
    }
    if (many) checkFingerprint('these fits', state.jobs, this.fingerprints, 'jobs');
    else checkFingerprint('the fit', state.jobs[0], this.fingerprints[0], 'fit');
    const checkIndex = (index: unknown, where: string): number => {
      if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= resolved.length) throw new Error(`${where} is ${JSON.stringify(index)}, not a job of this call`);
      return index as number;
    };
    state.completed.forEach(({ index, result }, i) => {
      const job = resolved[checkIndex(index, `checkpoint.resume.completed[${i}].index`)].job;
      // The label names the job in this call; it changes no number, so it is not part of the fingerprint.
      const labelled = { ...result };
      if (job.label !== undefined) labelled.label = job.label;
      else delete labelled.label;
      this.completed.set(index, labelled);
    });
    if (state.inProgress) {
      state.inProgress.indices.forEach((index, i) => {
        checkIndex(index, `checkpoint.resume.inProgress.indices[${i}]`);
        if (this.completed.has(index)) throw new Error(`checkpoint.resume: job ${index} is both completed and in progress: the state is damaged`);
      });
      this.inProgress = state.inProgress;
    }
  }

  state(): FitCheckpoint {
    const completed = [...this.completed.entries()].sort(([a], [b]) => a - b).map(([index, result]) => ({ index, result }));
    return { format: FIT_CHECKPOINT_FORMAT, version: 1, jobs: this.fingerprints, completed, ...(this.inProgress ? { inProgress: this.inProgress } : {}) };
  }

  /** A running job's state; a finished job's is left for `ended`, which records its results instead. */
  async training(indices: number[], chunkSlots: number, training: TrainingCheckpoint): Promise<void> {
    if (!this.options || training.finished) return;
    this.inProgress = { indices, chunkSlots, training };
    await this.options.save(this.state());
  }

  /** A job's training ended: its results replace its state. */
  async ended(part: ResolvedJob[], results: FitResult[]): Promise<void> {
    if (!this.options) return;
    part.forEach((job, i) => this.completed.set(job.index, results[i]));
    this.inProgress = undefined;
    await this.options.save(this.state());
  }
}

interface ScheduledChunk {
  part: ResolvedJob[];
  /** The saved state this job continues from. */
  resume?: InProgress;
  /** Which planned split of the group it is (for progress). */
  chunk: number;
}

/**
 * The jobs one group trains, in order: the planned splits of `perJob` fits, less the fits already done; the split
 * that was running when the state was saved continues from it (first, should this device plan other splits).
 */
function scheduleChunks(members: ResolvedJob[], perJob: number, ledger: FitLedger): ScheduledChunk[] {
  const planned = Array.from({ length: Math.ceil(members.length / perJob) }, (_, chunk) => members.slice(chunk * perJob, (chunk + 1) * perJob));
  const running = ledger.inProgress;
  const byIndex = new Map(members.map((job) => [job.index, job]));
  const owned = running !== undefined && running.indices.every((index) => byIndex.has(index));
  const sameFits = (part: ResolvedJob[]): boolean => owned && part.length === running.indices.length && part.every((job, i) => job.index === running.indices[i]);
  const scheduled: ScheduledChunk[] = [];
  if (owned && !planned.some(sameFits)) scheduled.push({ part: running.indices.map((index) => byIndex.get(index)!), resume: running, chunk: 0 });
  planned.forEach((part, chunk) => {
    if (sameFits(part)) {
      scheduled.push({ part, resume: running, chunk });
      return;
    }
    const pending = part.filter((job) => !ledger.completed.has(job.index) && !(owned && running.indices.includes(job.index)));
    if (pending.length > 0) scheduled.push({ part: pending, chunk });
  });
  return scheduled;
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
 * they learned, with `interrupted: true` where they were cut short. With `options.checkpoint`, the progress is saved
 * as it goes (the last save holds the state at a stop), and a call resumed from it skips the jobs that ended and
 * continues the one that was running.
 */
export async function fitMany(jobs: FitJob[], options: FitManyOptions = {}): Promise<FitResult[]> {
  if (!Array.isArray(jobs) || jobs.length === 0) throw new Error('fitMany needs at least one job');
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
        });
        chunkResults.forEach((result, i) => (results[part[i].index] = result));
        if (!interrupted) await ledger.ended(part, chunkResults);
        progress.fitsDone += part.length;
        report(name, first.epochs, first.epochs, Number.NaN, note);
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
  onEpoch: (epoch: number, meanElbo: number) => void;
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
        onEpoch: (epochReport) => {
          const running = Array.from(epochReport.elbo).filter(Number.isFinite);
          training.onEpoch(epochReport.epoch, running.reduce((a, b) => a + b, 0) / Math.max(running.length, 1));
        },
      },
    );
    const results = part.map((job, i) => {
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
    return { results, interrupted: outcome.interrupted };
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

/**
 * Checks, without a GPU, that `state` is a checkpoint of this fit (the same settings and data): the check `fit` makes
 * when it resumes, for callers that want to refuse a wrong checkpoint before they start anything. Throws
 * CheckpointMismatchError naming what differs, or an Error for a state that is not a fit checkpoint.
 */
export function checkFitResume(train: number[][][], settings: FitSettings, state: FitCheckpoint): void {
  FitLedger.open([resolveJob({ ...settings, train }, 0, false)], { save: () => undefined, resume: state });
}
