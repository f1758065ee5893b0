// What a fit is, for fit and fitMany: the settings and results of the API, the checkpoint state's shape, and each job
// resolved (defaults filled in) and checked before any GPU work, with the key that groups jobs sharing kernels.
import { PAPER_ADAM } from '../model/adam.js';
import type { TrainingCheckpoint } from '../model/checkpoint.js';
import { describeValue, validateCounts } from '../model/data.js';
import { flattenModel, type PoglmModelJson } from '../model/json.js';
import { isScheme, resolveMethod, SCHEMES, type Method, type ResolvedMethod, type Scheme } from '../model/types.js';
import { exponentialBasis } from '../model/basis.js';
import { resolveValidation, type ValidationSettings } from './validation.js';
import type { SpikeCounts } from './counts.js';

export interface FitSettings {
  hidden: number;
  scheme: Scheme;
  method: Method;
  tau?: number;
  categories?: number;
  /**
   * Default 20. 'auto': train until the ELBO of held-out training sequences stops improving (src/api/validation.ts;
   * `validation` sets how).
   */
  epochs?: number | 'auto';
  /** With epochs 'auto': the held-out fraction, the patience, the upper bound and the samples of its ELBO. */
  validation?: ValidationSettings;
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
  /**
   * Training sequences x[s][t][v]: nested arrays, a typed array with its shape, or a GPUBuffer of the session's
   * device (src/api/counts.ts). Jobs that pass the same object share its upload.
   */
  train: SpikeCounts;
  /** A label carried into progress and results (e.g. "trial 3 seed 1 FB exponential"). */
  label?: string;
}

/** A job whose counts have been read into nested rows (CountReader): what fitting works with. */
export type HostFitJob = Omit<FitJob, 'train'> & { train: number[][][] };

export interface FitProgress {
  fitsDone: number;
  fitsTotal: number;
  /** The group now training, e.g. "FB/exponential H=2 x 210". */
  group: string;
  epoch: number;
  epochs: number;
  /**
   * Mean ELBO over the group's running fits in the last epoch: always finite, or null where there is none (the event
   * that ends a group, or an epoch after which every fit of the group had failed).
   */
  meanElbo: number | null;
  elapsedSeconds: number;
  fitsPerSecond: number;
  /** Set when a group had to be split to fit the device. */
  note?: string;
}

/**
 * One fit's state after one of its epochs, for `onEpoch`: its parameters as a model (the JSON a fit writes, without
 * the training record), e.g. to draw its weights live. Reading the parameters back costs one device read per epoch
 * of each job, so it happens only when `onEpoch` is given.
 */
export interface FitEpoch {
  /** The fit's index in the jobs given to fitMany (0 for fit). */
  index: number;
  label?: string;
  /** Epochs completed, from 1. */
  epoch: number;
  epochs: number;
  /** The fit's mean training ELBO over the epoch (ln p for the GLM), or null where it is not finite (a failed fit). */
  elbo: number | null;
  model: PoglmModelJson;
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

export interface ResolvedJob {
  index: number;
  job: HostFitJob;
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
  /** With epochs 'auto': the held-out sequences and how to use them (job.train is then the rest). */
  validation?: { data: number[][][]; settings: Required<ValidationSettings> & { held: number } };
}

export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function resolveJob(job: HostFitJob, index: number, many: boolean): ResolvedJob {
  const where = many ? `jobs[${index}]` : 'fit';
  if (!isScheme(String(job.scheme))) throw new Error(`${where}.scheme is ${describeValue(job.scheme)}; use one of ${SCHEMES.join(', ')}`);
  let method: ResolvedMethod;
  try {
    method = resolveMethod({ method: job.method, tau: job.tau, categories: job.categories });
  } catch (error) {
    throw new Error(`${where}.${(error as Error).message}`);
  }
  if (!Number.isInteger(job.hidden) || job.hidden < 1) {
    throw new Error(`${where}.hidden must be a positive integer (got ${job.hidden}): 0 fits the fully observed GLM (fitMany routes it to its own kernels)`);
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
  // Auto epochs: the last sequences are held out to tell when to stop, and training sees the rest.
  const auto = job.epochs === 'auto';
  const validation = auto ? resolveValidation(job.validation, shape.sequences, `${where}.validation`) : undefined;
  const trained = validation ? { ...job, train: job.train.slice(0, shape.sequences - validation.held) } : job;
  return {
    index,
    job: trained,
    method,
    scheme: job.scheme,
    basis,
    epochs: validation ? validation.maxEpochs : positiveInteger(`${where}.epochs`, job.epochs as number ?? 20),
    batchSize: positiveInteger(`${where}.batchSize`, job.batchSize ?? 10),
    samples: positiveInteger(`${where}.samples`, job.samples ?? 5),
    learningRateGenerative: job.learningRateGenerative ?? PAPER_ADAM.learningRateGenerative,
    learningRateVariational: job.learningRateVariational ?? PAPER_ADAM.learningRateVariational,
    seed,
    sequences: shape.sequences - (validation?.held ?? 0),
    bins: shape.bins,
    ...(validation ? { validation: { data: job.train.slice(shape.sequences - validation.held), settings: validation } } : {}),
  };
}

export function groupKey(job: ResolvedJob): string {
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
    // A fit trained to convergence stops on its own epoch: it cannot share a job's fixed list of steps with others.
    job.validation ? job.index : null,
  ]);
}
