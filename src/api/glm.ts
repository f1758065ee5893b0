// The fully observed GLM (`--hidden 0`), the baseline every hidden neuron must beat: fits of many at once (one job per
// group of the same data shape and settings, each fit with its own seed and minibatch order, as the POGLM fits), and
// its exact test log-likelihood. Results and metrics have the shapes of fit and evaluate, so that they can stand in
// the same tables; the model JSON is the POGLM's with hidden 0 and no variational part.
import { rowsPerShard, uploadDataset } from '../engine/dataset.js';
import { glmLayout, glmLogLikelihoodOnDevice, glmWorkspaceBytes, trainGlmGroup, type GlmJob, type GlmTrainingOutcome } from '../engine/glm.js';
import { publishEpoch, type EpochListener } from './fit-epochs.js';
import { readItemCounts, type SpikeCounts } from './counts.js';
import { withSession, type GpuSession } from '../engine/session.js';
import { jobLimitBytes } from '../engine/sizing.js';
import { PAPER_ADAM } from '../model/adam.js';
import { exponentialBasis } from '../model/basis.js';
import { mean, sampleVariance } from '../model/math.js';
import { DataError, describeValue, validateCounts } from '../model/data.js';
import { buildModel, flattenModel, type PoglmModelJson, type TrainingRecord } from '../model/json.js';
import { checkTruth, parameterErrors } from '../model/metrics.js';
import { resolveMethod, type GenerativeParams } from '../model/types.js';
import { NonFiniteError, positiveInteger, type FitProgress, type FitResult } from './fit-jobs.js';

export interface GlmSettings {
  /** Default 20. */
  epochs?: number;
  /** Sequences per minibatch; default 10. */
  batchSize?: number;
  /** Adam's learning rate; default the POGLM's generative rate, 0.05. */
  learningRate?: number;
  seed?: number;
  /** History basis; default exponential decay 0.25 over 5 bins. */
  basis?: number[];
  /** Start from this GLM (hidden 0) instead of W = 0, b = 0. */
  init?: PoglmModelJson;
}

export interface GlmFitJob extends GlmSettings {
  /**
   * Training sequences x[s][t][v]: nested arrays, a typed array with its shape, or a GPUBuffer of the session's device.
   * Jobs that pass the same object share its upload.
   */
  train: SpikeCounts;
  label?: string;
}

/** A job whose counts have been read into nested rows. */
type HostGlmFitJob = Omit<GlmFitJob, 'train'> & { train: number[][][] };

export interface GlmFitOptions {
  session?: GpuSession;
  /** Stops after the current submission; the fits keep what they learned, with `interrupted: true`. */
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
  /** Bytes the largest buffer of one job may take; default the device's binding limit. */
  maxJobBytes?: number;
  /** Most training steps per GPU submission; default as many as 2^22 (sequence, bin) pairs. */
  stepsPerSubmit?: number;
  /** After every epoch of every fit: its model and its epoch's mean ln p (as fitMany's onEpoch), awaited. */
  onEpoch?: EpochListener;
}

interface ResolvedGlmJob {
  index: number;
  job: HostGlmFitJob;
  visible: number;
  sequences: number;
  bins: number;
  basis: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  init?: Float64Array;
}

function resolveGlmJob(job: HostGlmFitJob, index: number, many: boolean): ResolvedGlmJob {
  const where = many ? `jobs[${index}]` : 'fitGlm';
  const shape = validateCounts(many ? `${where}.train` : 'train', job.train);
  const basis = job.basis ?? job.init?.basis ?? exponentialBasis(5);
  const seed = job.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`${where}.seed must be an integer in [0, 2^32), got ${describeValue(job.seed)}`);
  const learningRate = job.learningRate ?? PAPER_ADAM.learningRateGenerative;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new Error(`${where}.learningRate must be a positive number, got ${describeValue(learningRate)}`);
  let init: Float64Array | undefined;
  if (job.init) {
    if (job.init.hidden !== 0 || job.init.visible !== shape.neurons) {
      throw new Error(`${where}.init is a ${job.init.visible}+${job.init.hidden} model; a GLM of this data starts from a ${shape.neurons}+0 one`);
    }
    if (JSON.stringify(job.init.basis) !== JSON.stringify(basis)) {
      throw new Error(`${where}.basis differs from the basis of ${where}.init: leave basis out to keep the init model's`);
    }
    init = flattenModel(job.init).params;
  }
  return {
    index,
    job,
    visible: shape.neurons,
    sequences: shape.sequences,
    bins: shape.bins,
    basis,
    epochs: positiveInteger(`${where}.epochs`, job.epochs ?? 20),
    batchSize: positiveInteger(`${where}.batchSize`, job.batchSize ?? 10),
    learningRate,
    seed,
    init,
  };
}

/** Fits that share kernels and a step: the same data shape, basis and training settings. */
const groupKey = (job: ResolvedGlmJob): string =>
  JSON.stringify([job.visible, job.bins, job.sequences, job.basis, job.epochs, job.batchSize, job.learningRate]);

/**
 * Splits a group into jobs: as many fits as whole minibatches of workspace and their training rows allow in one
 * buffer each; a fit whose minibatch alone does not fit runs it in chunks of sequences.
 */
function planGroup(members: ResolvedGlmJob[], bytes: number): { parts: ResolvedGlmJob[][]; chunkSlots: number } {
  const first = members[0];
  const slots = Math.min(first.batchSize, first.sequences);
  const spec = { visible: first.visible, basis: first.basis, slots, stepsPerEpoch: Math.ceil(first.sequences / slots), mode: 'train' as const };
  const fits = (models: number, chunkSlots = slots): boolean => glmWorkspaceBytes({ ...spec, models, chunkSlots }, first.bins) <= bytes;
  const rowsPerBuffer = rowsPerShard(first.bins, first.visible, bytes, false);
  if (first.sequences > rowsPerBuffer) {
    throw new DataError(
      `${first.sequences} training sequences of ${first.bins} bins x ${first.visible} neurons do not fit one device buffer ` +
        `(at most ${rowsPerBuffer}): use shorter sequences`,
    );
  }
  let chunkSlots = slots;
  while (chunkSlots > 1 && !fits(1, chunkSlots)) chunkSlots = Math.ceil(chunkSlots / 2);
  if (!fits(1, chunkSlots)) {
    throw new DataError(`one sequence of ${first.bins} bins x ${first.visible} neurons needs more than ${bytes} bytes of workspace: use shorter sequences`);
  }
  const parts: ResolvedGlmJob[][] = [];
  let part: ResolvedGlmJob[] = [];
  let arrays = new Set<number[][][]>();
  for (const member of members) {
    const rows = (arrays.size + (arrays.has(member.job.train) ? 0 : 1)) * first.sequences;
    if (part.length > 0 && (!fits(part.length + 1, chunkSlots) || rows > rowsPerBuffer)) {
      parts.push(part);
      part = [];
      arrays = new Set();
    }
    part.push(member);
    arrays.add(member.job.train);
  }
  parts.push(part);
  return { parts, chunkSlots };
}

function trainingRecord(job: ResolvedGlmJob, outcome: GlmTrainingOutcome, member: number, adapter: string): TrainingRecord {
  const result = outcome.members[member];
  const record: TrainingRecord = {
    epochs: job.epochs,
    epochsCompleted: result.failedAtStep === undefined ? outcome.epochsCompleted : result.elboHistory.length,
    steps: outcome.steps,
    batchSize: job.batchSize,
    // ln p is exact: no Monte Carlo samples and no variational parameters.
    samples: 0,
    learningRateGenerative: job.learningRate,
    learningRateVariational: 0,
    seed: job.seed,
    elboHistory: result.elboHistory,
    adapter,
  };
  if (result.failedAtStep !== undefined) {
    const message = `ln p or its gradient became non-finite at step ${result.failedAtStep}`;
    record.stoppedEarly = { reason: 'non-finite', step: result.failedAtStep, message };
  } else if (outcome.interrupted) {
    record.stoppedEarly = { reason: 'interrupted', message: `interrupted after ${outcome.steps} steps` };
  }
  return record;
}

function fitResult(job: ResolvedGlmJob, outcome: GlmTrainingOutcome, member: number, adapter: string): FitResult {
  const record = trainingRecord(job, outcome, member, adapter);
  const { params, elboHistory, failedAtStep } = outcome.members[member];
  const flat = { layout: glmLayout(job.visible), params, method: resolveMethod({ method: 'poisson' }), basis: job.basis };
  const result: FitResult = {
    model: buildModel(flat, record),
    elboHistory,
    steps: outcome.steps,
    epochsCompleted: record.epochsCompleted,
    interrupted: outcome.interrupted,
    dispatchesPerStep: outcome.dispatchesPerStep,
  };
  if (job.job.label !== undefined) result.label = job.job.label;
  if (failedAtStep !== undefined) {
    const message = `ln p or its gradient became non-finite at step ${failedAtStep}; the model holds the parameters from before that step`;
    result.failure = { step: failedAtStep, message };
  }
  return result;
}

/** The GLM's afterEpoch hook for onEpoch: each fit's model from the job's parameter rows. */
function publishGlmEpoch(listener: EpochListener, part: ResolvedGlmJob[]) {
  const first = part[0];
  const shape = { layout: glmLayout(first.visible), method: resolveMethod({ method: 'poisson' }), epochs: first.epochs };
  const members = part.map((job) => ({ index: job.index, label: job.job.label, basis: job.basis }));
  return async (job: GlmJob, epochsCompleted: number, means: Float64Array): Promise<void> =>
    publishEpoch(listener, members, shape, epochsCompleted, await job.readParams(), means);
}

/** Trains one job's fits and turns the outcome into results. */
async function trainPart(
  session: GpuSession,
  part: ResolvedGlmJob[],
  chunkSlots: number,
  options: GlmFitOptions,
  onEpoch: (epoch: number, mean: number | null) => void,
): Promise<{ results: FitResult[]; interrupted: boolean }> {
  const first = part[0];
  const arrays: number[][][][] = [];
  const firstRow = part.map((job) => {
    let position = arrays.indexOf(job.job.train);
    if (position < 0) position = arrays.push(job.job.train) - 1;
    return position * first.sequences;
  });
  const upload = { maxShardBytes: jobLimitBytes(session.context.limits, options.maxJobBytes), placement: 'device' as const, antiCausal: false };
  const dataset = await uploadDataset(session, arrays, first.basis, 'train', {}, upload);
  try {
    const outcome = await trainGlmGroup(
      session,
      dataset,
      {
        visible: first.visible,
        basis: first.basis,
        members: part.map((job, i) => ({ seed: job.seed, firstRow: firstRow[i], sequences: job.sequences, init: job.init })),
        batchSize: first.batchSize,
        epochs: first.epochs,
        adam: { ...PAPER_ADAM, learningRateGenerative: first.learningRate },
        chunkSlots,
        stepsPerSubmit: options.stepsPerSubmit,
      },
      {
        signal: options.signal,
        ...(options.onEpoch ? { afterEpoch: publishGlmEpoch(options.onEpoch, part) } : {}),
        onEpoch: (epoch, means) => {
          const running = Array.from(means).filter(Number.isFinite);
          onEpoch(epoch, running.length > 0 ? running.reduce((a, b) => a + b, 0) / running.length : null);
        },
      },
    );
    return { results: part.map((job, i) => fitResult(job, outcome, i, session.adapter)), interrupted: outcome.interrupted };
  } finally {
    dataset.release();
  }
}

/**
 * Fits every GLM; results come back in the order of `jobs`, as fitMany's do. Each fit's minibatches follow its seed
 * (src/model/schedule.ts epochSchedule), so a fit gives the same result alone or among thousands. After an abort, the
 * jobs that had not started have no entry; the others hold what they learned.
 */
export async function fitGlmMany(given: GlmFitJob[], options: GlmFitOptions = {}): Promise<FitResult[]> {
  if (!Array.isArray(given) || given.length === 0) throw new Error('fitGlmMany needs at least one job');
  const jobs: HostGlmFitJob[] = await readItemCounts(given, ['train'], options.session, (index) => (given.length > 1 ? `jobs[${index}].train` : 'train'));
  const resolved = jobs.map((job, index) => resolveGlmJob(job, index, jobs.length > 1));
  if (options.stepsPerSubmit !== undefined) positiveInteger('stepsPerSubmit', options.stepsPerSubmit);
  const groups = new Map<string, ResolvedGlmJob[]>();
  for (const job of resolved) groups.set(groupKey(job), [...(groups.get(groupKey(job)) ?? []), job]);
  return withSession(options.session, async (session) => {
    const results: FitResult[] = new Array(jobs.length);
    const started = performance.now();
    let fitsDone = 0;
    const report = (group: string, epoch: number, epochs: number, meanElbo: number | null): void => {
      const elapsedSeconds = (performance.now() - started) / 1000;
      const fitsPerSecond = fitsDone / Math.max(elapsedSeconds, 1e-9);
      options.onProgress?.({ fitsDone, fitsTotal: jobs.length, group, epoch, epochs, meanElbo, elapsedSeconds, fitsPerSecond });
    };
    const limit = jobLimitBytes(session.context.limits, options.maxJobBytes);
    for (const members of groups.values()) {
      const { parts, chunkSlots } = planGroup(members, limit);
      const name = `GLM V=${members[0].visible} x ${members.length}`;
      for (const part of parts) {
        if (options.signal?.aborted) return results;
        const onEpoch = (epoch: number, mean: number | null): void => report(name, epoch, part[0].epochs, mean);
        const { results: partResults, interrupted } = await trainPart(session, part, chunkSlots, options, onEpoch);
        partResults.forEach((result, i) => (results[part[i].index] = result));
        fitsDone += part.length;
        report(name, part[0].epochs, part[0].epochs, null);
        if (interrupted) return results;
      }
    }
    return results;
  });
}

/**
 * Fits one GLM from W = 0, b = 0. A non-finite ln p or gradient throws NonFiniteError with the last finite model in
 * `error.result`; an aborted `signal` returns what was learned so far with `interrupted: true`.
 */
export async function fitGlm(train: SpikeCounts, settings: GlmSettings = {}, options: GlmFitOptions = {}): Promise<FitResult> {
  const [result] = await fitGlmMany([{ ...settings, train }], options);
  if (!result) {
    options.signal?.throwIfAborted();
    throw new Error('the fit was interrupted before it started');
  }
  if (result.failure) throw new NonFiniteError(`fitGlm stopped: ${result.failure.message}`, result);
  return result;
}

export interface GlmScoreOptions {
  session?: GpuSession;
  signal?: AbortSignal;
  /** Bytes the largest buffer of one job may take; default the device's binding limit. */
  maxJobBytes?: number;
}

/** Checks that `model` is a GLM (hidden 0) for counts of `data`'s shape, naming what differs. */
function checkGlmModel(model: PoglmModelJson, data: number[][][]): void {
  if (model.hidden !== 0) throw new DataError(`the model has ${model.hidden} hidden neurons: score a POGLM with evaluate, and a GLM (hidden 0) here`);
  validateCounts('data', data, { neurons: model.visible });
}

/**
 * The exact ln p(X) of every sequence of `data` under a GLM (hidden 0), ln x! included. Data larger than one device
 * buffer is uploaded and scored a buffer's worth of sequences at a time.
 */
export async function glmLogLikelihood(model: PoglmModelJson, data: number[][][], options: GlmScoreOptions = {}): Promise<number[]> {
  checkGlmModel(model, data);
  const flat = flattenModel(model);
  return withSession(options.session, async (session) => {
    const limit = jobLimitBytes(session.context.limits, options.maxJobBytes);
    const perUpload = rowsPerShard(data[0].length, model.visible, limit, false);
    const values: number[] = [];
    for (let first = 0; first < data.length; first += perUpload) {
      options.signal?.throwIfAborted();
      const rows = data.slice(first, first + perUpload);
      const dataset = await uploadDataset(session, [rows], flat.basis, 'data', {}, { maxShardBytes: limit, placement: 'device', antiCausal: false });
      try {
        const request = { members: [{ params: flat.params, firstRow: 0 }], basis: flat.basis, sequences: rows.length, maxBytes: limit, signal: options.signal };
        values.push(...(await glmLogLikelihoodOnDevice(session, dataset, request))[0]);
      } finally {
        dataset.release();
      }
    }
    return values;
  });
}

/**
 * evaluate's Metrics as a GLM has them (declared here, not imported, so that src/api/evaluate.ts can route hidden-0
 * models to evaluateGlm without an import circle; the shapes agree field for field).
 */
export interface GlmMetrics {
  testMarginalLogLikelihood: number;
  testMarginalLogLikelihoodVariance?: number;
  testMarginalLogLikelihoodPerSequence?: number[];
  testElbo: number;
  weightError?: number;
  biasError?: number;
  sequences: number;
  samples: number;
}

/**
 * A GLM's metrics in evaluate's shape: with no hidden neurons the marginal log-likelihood and the ELBO are both the
 * exact ln p(X) (`samples` is 0: nothing is sampled). With ground truth over the same V neurons, the errors of W and
 * b; truth that has hidden neurons, and hidden spikes, have nothing in a GLM to be compared with and are left out.
 */
export async function evaluateGlm(model: PoglmModelJson, test: number[][][], options: GlmScoreOptions & { truth?: GenerativeParams } = {}): Promise<GlmMetrics> {
  const values = await glmLogLikelihood(model, test, options);
  const average = mean(values);
  const metrics: GlmMetrics = { testMarginalLogLikelihood: average, testMarginalLogLikelihoodVariance: sampleVariance(values), testMarginalLogLikelihoodPerSequence: values, testElbo: average, sequences: values.length, samples: 0 };
  if (options.truth && options.truth.bias.length === model.visible) {
    checkTruth(options.truth, model.visible, 'truth');
    const errors = parameterErrors(model.generative, options.truth, model.visible);
    metrics.weightError = errors.weightError;
    metrics.biasError = errors.biasError;
  }
  return metrics;
}
