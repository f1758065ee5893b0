// Training B models of one group (same shape, scheme, method, samples, batch size and number of sequences) in one
// job: every step is the same fixed list of dispatches for all of them, each model with its own seed (noise, init,
// minibatch order), its own Adam moments and its own failure flag. The host writes each epoch's minibatch schedule
// and reads back only the per-step ELBOs and failure flags that progress reporting needs.
import type { ParamLayout } from '../model/params.js';
import type { ResolvedMethod } from '../model/types.js';
import { NoisePurpose } from '../model/philox.js';
import type { DeviceDataset } from './dataset.js';
import { NO_FAILURE, VariationalJob } from './job.js';
import { PAPER_ADAM, type AdamSettings } from '../model/adam.js';
import { epochSchedule, initialParams, stepsPerEpoch, type ScheduledFit } from '../model/schedule.js';
import type { GpuSession } from './session.js';
import type { JobPath } from './spec.js';
import { trainingStepsPerSubmission } from './sizing.js';
import {
  checkFingerprint,
  checkFormat,
  decodeFloat32,
  encodeFloat32,
  TRAINING_STATE_FORMAT,
  type TrainingCheckpoint,
  type TrainingFingerprint,
} from '../model/checkpoint.js';

export interface GroupMember extends ScheduledFit {
  /** Starting parameters; default: the paper's initialisation from the seed. */
  init?: ArrayLike<number>;
}

export interface TrainingGroupSpec {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
  members: GroupMember[];
  batchSize: number;
  samples: number;
  epochs: number;
  adam?: AdamSettings;
  /** Most steps per submission (smaller: a more responsive interrupt and progress). */
  stepsPerSubmit?: number;
  /** Sequences per chunk of a minibatch (src/engine/sizing.ts planJobs); default the whole minibatch. */
  chunkSlots?: number;
  /** The gradient's path (src/engine/spec.ts isFused); default 'auto'. */
  path?: JobPath;
}

export interface TrainingOptions {
  onEpoch?: (report: EpochReport) => void;
  /** Stops after the current submission, keeping what was learned. */
  signal?: AbortSignal;
  onStart?: (job: VariationalJob) => void;
  /** Continue from a state that onCheckpoint gave for the same spec, instead of from the initial parameters. */
  resume?: TrainingCheckpoint;
  /**
   * Receives the state every `checkpointEvery` epochs and whenever training stops (every epoch run, every member
   * failed, or interrupted); awaited before training goes on.
   */
  onCheckpoint?: (state: TrainingCheckpoint) => void | Promise<void>;
  /** Epochs between checkpoints, counted from the first epoch of the fit (not of the resume); default 1. */
  checkpointEvery?: number;
  /**
   * Asked after every epoch, with the job (its parameters as they now are): true ends training there, as converged
   * (src/api/validation.ts). Not an interrupt: the outcome is a finished fit of fewer epochs.
   */
  afterEpoch?: (job: VariationalJob, epochsCompleted: number) => Promise<boolean>;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  steps: number;
  /** Mean ELBO over the epoch's steps, per member (NaN once a member has failed). */
  elbo: Float64Array;
  /** Members that have stopped on a non-finite ELBO or gradient so far. */
  failed: number;
}

export interface MemberOutcome {
  params: Float64Array;
  elboHistory: number[];
  /** The first step whose ELBO or gradient was non-finite; the parameters are those before it. */
  failedAtStep?: number;
}

export interface TrainingOutcome {
  members: MemberOutcome[];
  epochsCompleted: number;
  steps: number;
  interrupted: boolean;
  dispatchesPerStep: number;
  stageNames: string[];
}

export function checkTrainingSpec(spec: TrainingGroupSpec): void {
  const sequences = new Set(spec.members.map((member) => member.sequences));
  if (sequences.size > 1) {
    const counts = spec.members.map((member, b) => `members[${b}]: ${member.sequences}`).join(', ');
    throw new Error(`a training group needs the same number of sequences for every member (${counts}): group fits by dataset shape`);
  }
  for (const [name, value] of Object.entries({ batchSize: spec.batchSize, samples: spec.samples, epochs: spec.epochs })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  if (spec.layout.hidden < 1) throw new Error('hidden must be at least 1: with no hidden neurons there is nothing to infer');
  if (spec.members.length === 0) throw new Error('a training group needs at least one member');
}

/** Where a group's training stands on the host: what the GPU does not hold. */
interface HostProgress {
  epochsCompleted: number;
  /** Steps already run of epoch `epochsCompleted` (a resume inside an epoch). */
  stepsIntoEpoch: number;
  histories: number[][];
  failedAt: (number | undefined)[];
}

/** Everything that changes a group's numbers, so that a resume of another group is refused. */
export function trainingFingerprint(spec: TrainingGroupSpec): TrainingFingerprint {
  const { layout, method, members } = spec;
  const batchSize = Math.min(spec.batchSize, members[0].sequences);
  const adam = spec.adam ?? PAPER_ADAM;
  return {
    visible: layout.visible,
    hidden: layout.hidden,
    scheme: layout.scheme,
    method: method.method,
    tau: method.tau,
    categories: method.categories,
    basis: spec.basis,
    batchSize,
    samples: spec.samples,
    epochs: spec.epochs,
    stepsPerEpoch: stepsPerEpoch(members[0].sequences, batchSize),
    chunkSlots: Math.min(spec.chunkSlots ?? batchSize, batchSize),
    path: spec.path ?? 'auto',
    adam: {
      learningRateGenerative: adam.learningRateGenerative,
      learningRateVariational: adam.learningRateVariational,
      beta1: adam.beta1,
      beta2: adam.beta2,
      epsilon: adam.epsilon,
    },
    members: members.map(({ seed, firstRow, sequences }) => ({ seed, firstRow, sequences })),
  };
}

/** A fresh start: the initial parameters (zero moments and no failures are the job's own), step 0. */
function startFresh(job: VariationalJob, spec: TrainingGroupSpec): HostProgress {
  const { layout, members } = spec;
  const params = new Float32Array(members.length * layout.total);
  members.forEach((member, b) => {
    const init = member.init ?? initialParams(layout, member.seed);
    if (init.length !== layout.total) throw new Error(`members[${b}].init has ${init.length} values, expected ${layout.total}`);
    params.set(Array.from(init), b * layout.total);
  });
  job.writeParams(params);
  job.setStep(0);
  return { epochsCompleted: 0, stepsIntoEpoch: 0, histories: members.map(() => []), failedAt: members.map(() => undefined) };
}

/** Puts a saved state back on the GPU, bit for bit, after checking that it is a state of this very group. */
function restore(job: VariationalJob, spec: TrainingGroupSpec, state: TrainingCheckpoint): HostProgress {
  checkFormat(state, TRAINING_STATE_FORMAT, 'resume');
  checkFingerprint('the training', state.fingerprint, trainingFingerprint(spec), 'training');
  const { layout, members } = spec;
  const B = members.length;
  const steps = job.spec.stepsPerEpoch;
  const { epochsCompleted, stepsIntoEpoch, step } = state;
  if (!Number.isInteger(stepsIntoEpoch) || stepsIntoEpoch < 0 || stepsIntoEpoch >= steps || step !== epochsCompleted * steps + stepsIntoEpoch) {
    throw new Error(`resume: step ${step} is not epoch ${epochsCompleted} plus ${stepsIntoEpoch} steps of ${steps}: the state is damaged`);
  }
  if (!Array.isArray(state.members) || state.members.length !== B) throw new Error(`resume holds ${state.members?.length} members, the group has ${B}`);
  const total = B * layout.total;
  const gather = (field: 'params' | 'firstMoment' | 'secondMoment'): Float32Array => {
    const flat = new Float32Array(total);
    state.members.forEach((member, b) => flat.set(decodeFloat32(member[field], `resume.members[${b}].${field}`, layout.total), b * layout.total));
    return flat;
  };
  job.writeParams(gather('params'));
  job.writeWorkspace('firstMoment', gather('firstMoment'));
  job.writeWorkspace('secondMoment', gather('secondMoment'));
  job.writeFailures(Uint32Array.from(state.members, (member) => member.failedAtStep ?? NO_FAILURE));
  // The unfinished epoch's mean sums every step's ELBO from this region: its first steps come from the state.
  const elbos = new Float32Array(steps * B);
  elbos.set(decodeFloat32(state.epochElbos, 'resume.epochElbos', stepsIntoEpoch * B));
  job.writeWorkspace('elboHistory', elbos);
  job.setStep(step);
  return {
    epochsCompleted,
    stepsIntoEpoch,
    histories: state.members.map((member) => [...member.elboHistory]),
    failedAt: state.members.map((member) => member.failedAtStep),
  };
}

/** Reads the state of the GPU and the host between two steps. */
async function capture(job: VariationalJob, spec: TrainingGroupSpec, progress: HostProgress, finished: boolean): Promise<TrainingCheckpoint> {
  const { layout, members } = spec;
  const B = members.length;
  const [params, first, second, history, step] = await Promise.all([
    job.readParams(),
    job.read('firstMoment'),
    job.read('secondMoment'),
    job.read('elboHistory'),
    job.readStep(),
  ]);
  const slice = (values: Float32Array, b: number): Float32Array => values.subarray(b * layout.total, (b + 1) * layout.total);
  return {
    format: TRAINING_STATE_FORMAT,
    version: 1,
    fingerprint: trainingFingerprint(spec),
    epochsCompleted: progress.epochsCompleted,
    stepsIntoEpoch: progress.stepsIntoEpoch,
    step,
    finished,
    epochElbos: encodeFloat32(history.subarray(0, progress.stepsIntoEpoch * B)),
    members: members.map((_, b) => ({
      params: encodeFloat32(slice(params, b)),
      firstMoment: encodeFloat32(slice(first, b)),
      secondMoment: encodeFloat32(slice(second, b)),
      elboHistory: [...progress.histories[b]],
      ...(progress.failedAt[b] !== undefined ? { failedAtStep: progress.failedAt[b] } : {}),
    })),
  };
}

/** Notes the failure steps the GPU has recorded for members the host does not know to have failed yet. */
function noteFailures(progress: HostProgress, failures: Uint32Array): void {
  progress.failedAt.forEach((known, b) => {
    if (known === undefined && failures[b] !== NO_FAILURE) progress.failedAt[b] = failures[b];
  });
}

/**
 * Runs the steps `from..steps-1` of the epoch whose schedule is written; returns how many of them ran before an abort.
 * At most two submissions are in flight: the next is queued while the previous runs (no idle GPU), and the wait for
 * the previous races the stop signal and device loss, so that a stop is seen within a submission, not after the
 * whole epoch queued at once.
 */
async function runEpochSteps(job: VariationalJob, from: number, steps: number, perSubmit: number, epoch: number, signal?: AbortSignal): Promise<number> {
  const context = job.session.context;
  let done = from;
  let previous: Promise<void> | undefined;
  while (done < steps) {
    if (signal?.aborted) break;
    const count = Math.min(perSubmit, steps - done);
    await job.run(count, `epoch ${epoch + 1}`);
    done += count;
    const submitted = context.settle(`training epoch ${epoch + 1}`);
    submitted.catch(() => undefined);
    if (previous) await raceAbort(previous, signal);
    previous = submitted;
  }
  return done;
}

/** `work`, or as soon as `signal` aborts (the caller then stops; what was submitted still completes in order). */
async function raceAbort(work: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return work;
  if (signal.aborted) return;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => signal.addEventListener('abort', (onAbort = () => resolve()), { once: true }))]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** Ends an epoch: each member's mean ELBO over its steps (NaN once failed), appended to the histories. */
async function finishEpoch(job: VariationalJob, progress: HostProgress, steps: number): Promise<Float64Array> {
  const [history, failures] = await Promise.all([job.read('elboHistory'), job.readFailures()]);
  noteFailures(progress, failures);
  const B = progress.histories.length;
  const elbo = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let total = 0;
    for (let step = 0; step < steps; step++) total += history[step * B + b];
    elbo[b] = progress.failedAt[b] === undefined ? total / steps : Number.NaN;
    if (progress.failedAt[b] === undefined) progress.histories[b].push(elbo[b]);
  }
  progress.epochsCompleted++;
  progress.stepsIntoEpoch = 0;
  return elbo;
}

/**
 * Trains every member; `signal` stops after the current submission, keeping what was learned. With `resume`, the
 * group continues from a saved state exactly as if it had never stopped: the same parameters, histories and steps.
 */
export async function trainGroup(session: GpuSession, dataset: DeviceDataset, spec: TrainingGroupSpec, options: TrainingOptions = {}): Promise<TrainingOutcome> {
  checkTrainingSpec(spec);
  const { layout, members } = spec;
  const B = members.length;
  const sequences = members[0].sequences;
  const batchSize = Math.min(spec.batchSize, sequences);
  const steps = stepsPerEpoch(sequences, batchSize);
  const every = options.checkpointEvery ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new Error(`checkpointEvery must be a positive integer, got ${every}`);
  const job = await VariationalJob.create(session, dataset, {
    layout,
    basis: spec.basis,
    method: spec.method,
    models: B,
    slots: batchSize,
    chunkSlots: spec.chunkSlots,
    samples: spec.samples,
    stepsPerEpoch: steps,
    noise: 'philox',
    mode: 'train',
    purpose: NoisePurpose.train,
    adam: spec.adam ?? PAPER_ADAM,
    path: spec.path,
  });
  try {
    options.onStart?.(job);
    job.writeSeeds(Uint32Array.from(members, (member) => member.seed));
    const progress = options.resume ? restore(job, spec, options.resume) : startFresh(job, spec);
    const allFailed = (): boolean => progress.failedAt.every((failure) => failure !== undefined);
    const perSubmit = Math.max(1, Math.min(spec.stepsPerSubmit ?? trainingStepsPerSubmission(job.instances, dataset.bins), steps));
    let interrupted = false;
    // The step of the last checkpoint given: a stop right after it (before any step) gives no second, equal one.
    let checkpointedAt: number | undefined;
    const checkpoint = async (finished: boolean): Promise<void> => {
      const state = await capture(job, spec, progress, finished);
      checkpointedAt = state.step;
      await options.onCheckpoint!(state);
    };
    while (progress.epochsCompleted < spec.epochs && !allFailed()) {
      const epoch = progress.epochsCompleted;
      job.writeSchedule(epochSchedule(members, epoch, batchSize));
      progress.stepsIntoEpoch = await runEpochSteps(job, progress.stepsIntoEpoch, steps, perSubmit, epoch, options.signal);
      if (progress.stepsIntoEpoch < steps) {
        interrupted = true;
        break;
      }
      const elbo = await finishEpoch(job, progress, steps);
      options.onEpoch?.({ epoch: epoch + 1, epochs: spec.epochs, steps: progress.epochsCompleted * steps, elbo, failed: progress.failedAt.filter((f) => f !== undefined).length });
      if (options.afterEpoch && !allFailed() && (await options.afterEpoch(job, progress.epochsCompleted))) break;
      const goesOn = progress.epochsCompleted < spec.epochs && !allFailed();
      if (goesOn && progress.epochsCompleted % every === 0 && options.onCheckpoint) await checkpoint(false);
    }
    // Steps of an unfinished epoch may have gone non-finite too: the fit must say so, not only that it stopped.
    if (interrupted) noteFailures(progress, await job.readFailures());
    const stepNow = progress.epochsCompleted * steps + progress.stepsIntoEpoch;
    if (options.onCheckpoint && !(interrupted && checkpointedAt === stepNow)) await checkpoint(!interrupted);
    const finalParams = await job.readParams();
    // The step counter says how many steps really ran (an interrupt can fall inside an epoch).
    const stepsRun = await job.readStep();
    return {
      members: members.map((_, b) => {
        const outcome: MemberOutcome = {
          params: Float64Array.from(finalParams.subarray(b * layout.total, (b + 1) * layout.total)),
          elboHistory: progress.histories[b],
        };
        if (progress.failedAt[b] !== undefined) outcome.failedAtStep = progress.failedAt[b];
        return outcome;
      }),
      epochsCompleted: progress.epochsCompleted,
      steps: stepsRun,
      interrupted,
      dispatchesPerStep: job.dispatchesPerStep,
      stageNames: job.stageNames,
    };
  } finally {
    job.destroy();
  }
}
