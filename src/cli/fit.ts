// `poglm fit`: one POGLM fitted with differentiable variational inference, written as a model JSON, optionally
// evaluated on test data, and optionally checkpointed so that a stopped fit continues exactly where it stopped.
import type { Command } from 'commander';
import { evaluate, type Metrics } from '../api/evaluate.js';
import { withBaselineMetrics } from '../api/baselines.js';
import { inferHidden } from '../api/infer.js';
import type { GpuSession } from '../engine/session.js';
import type { GlmSettings } from '../api/glm.js';
import { checkFitResume, fit, NonFiniteError, type FitCheckpoint, type FitResult, type FitSettings } from '../api/fit.js';
import { validateCounts } from '../model/data.js';
import { DEFAULT_BASIS_DECAY, DEFAULT_BASIS_LENGTH } from '../model/basis.js';
import { flattenModel } from '../model/json.js';
import { MAX_CATEGORIES, METHOD_INFO, METHODS } from '../model/types.js';
import { UsageError, writeJson } from './files.js';
import { checkGroundTruth, readModelFile, type CountsFile } from './readers.js';
import { commandAction, InterruptedExit, type CliContext } from './runner.js';
import {
  BASIS_FLAGS,
  basisGiven,
  basisOf,
  checkpointInput,
  countsInput,
  epochsInput,
  flagInput,
  integerInput,
  methodInput,
  optional,
  outputFileInput,
  outputFolderInput,
  positiveInput,
  readInput,
  schemeInput,
  type CommandInputs,
  type InputValues,
} from './inputs.js';
import { checkBasisFits, checkHiddenCount } from './limits.js';
import { formatSeconds, StatusLine } from './progress.js';
import { writeStandardPlots } from './plot.js';
import { evaluationProgress, formatMetrics, groundTruthFor, notConvergedNote, round, validationNote } from './report.js';
import { VALIDATION_DEFAULTS } from '../api/validation.js';

/** Test counts must have the visible neurons of the training counts. */
function checkSameNeurons(train: CountsFile, other: CountsFile | undefined): void {
  if (other) validateCounts(other.description, other.visible, { neurons: train.visible[0][0].length });
}

const GUMBEL_METHODS = METHODS.filter((name) => METHOD_INFO[name].gumbelSoftmax);
const CATEGORY_METHODS = ['categorical', ...GUMBEL_METHODS];

const FIT_FLAGS = {
  // 0 fits the fully observed GLM, the baseline every hidden neuron must beat.
  hidden: integerInput('--hidden', { min: 0 }),
  scheme: optional(schemeInput('--scheme')),
  method: optional(methodInput('--method')),
  epochs: epochsInput('--epochs'),
  patience: optional(integerInput('--patience', { min: 1 })),
  maxEpochs: optional(integerInput('--max-epochs', { min: 1 })),
  validationFraction: optional(positiveInput('--validation-fraction')),
  batch: integerInput('--batch', { min: 1 }),
  mc: integerInput('--mc', { min: 1 }),
  lrGen: positiveInput('--lr-gen'),
  lrVar: positiveInput('--lr-var'),
  seed: integerInput('--seed', { max: 2 ** 32 - 1 }),
  tau: optional(positiveInput('--tau')),
  categories: optional(integerInput('--categories', { min: 2, max: MAX_CATEGORIES })),
  evalMc: integerInput('--eval-mc', { min: 1 }),
  out: outputFileInput('--out'),
  plots: optional(outputFolderInput('--plots')),
  train: countsInput('--train', 'train'),
  test: optional(countsInput('--test', 'test')),
  init: optional(readInput('--init', (path) => readModelFile(path, '--init'))),
  ...BASIS_FLAGS,
  checkpoint: checkpointInput('--checkpoint', '--checkpoint FILE'),
  checkpointEvery: integerInput('--checkpoint-every', { min: 1 }),
  resume: flagInput('--resume'),
  json: flagInput('--json'),
  progress: flagInput('--progress'),
};
type FitValues = InputValues<typeof FIT_FLAGS>;

/** A starting model must be a fitted one of the shape the flags ask for, or the fit would start from nonsense. */
function checkInit({ init, train, hidden, scheme }: FitValues): void {
  if (!init) return;
  const visible = train.visible[0][0].length;
  if (hidden === 0) {
    if (init.hidden !== 0 || init.visible !== visible) throw new UsageError(`--init is a model of ${init.visible} visible + ${init.hidden} hidden neurons; a --hidden 0 fit of ${train.description} starts from a GLM of ${visible} visible neurons`);
    return;
  }
  if (!init.variational) throw new UsageError(`--init: the model has no variational part (hidden = ${init.hidden}): start from a model that poglm fit wrote`);
  const initScheme = flattenModel(init).layout.scheme;
  if (init.visible !== visible || init.hidden !== hidden || initScheme !== scheme) {
    throw new UsageError(
      `--init is a model of ${init.visible} visible + ${init.hidden} hidden neurons, scheme ${initScheme}; this fit is ` +
        `${visible} visible (${train.description}) + --hidden ${hidden}, --scheme ${scheme}: give --hidden ${init.hidden} --scheme ${initScheme}, or another --init`,
    );
  }
}

/** A POGLM needs its scheme and method; the GLM (--hidden 0) has neither, nor a q to tune. */
function checkSchemeAndMethod({ hidden, scheme, method, epochs }: FitValues): void {
  if (hidden > 0) {
    if (!scheme) throw new UsageError('--scheme is required with --hidden above 0: F, FS or FB (the variational message passing)');
    if (!method) throw new UsageError('--method is required with --hidden above 0: poisson, categorical, gs-score, gs-pathwise, exponential, rayleigh or half-normal');
    return;
  }
  if (scheme || method) throw new UsageError('--hidden 0 fits the fully observed GLM, which has no hidden neurons to infer: leave out --scheme and --method');
  if (epochs === 'auto') throw new UsageError('--hidden 0 takes a number of --epochs, not auto');
}

const FIT_INPUTS: CommandInputs<typeof FIT_FLAGS> = {
  flags: FIT_FLAGS,
  relations: [
    checkSchemeAndMethod,
    ({ tau, method }) => {
      if (tau !== undefined && !GUMBEL_METHODS.includes(method!)) throw new UsageError(`--tau is the Gumbel-Softmax temperature: it applies to ${GUMBEL_METHODS.join(' and ')}, not --method ${method}`);
    },
    ({ categories, method }) => {
      if (categories !== undefined && !CATEGORY_METHODS.includes(method!)) throw new UsageError(`--categories applies to ${CATEGORY_METHODS.join(', ')}, not --method ${method}`);
    },
    checkBasisAgainstInit,
    (options) => checkHiddenCount('--hidden', options.hidden, basisLength(options)),
    (options) => [options.train, options.test].forEach((file) => file && checkBasisFits(file.description, file.visible[0].length, basisLength(options), 'longer sequences')),
    ({ train, test }) => checkSameNeurons(train, test),
    checkInit,
    ({ test, hidden }) => test && checkGroundTruth(test, hidden, '--test'),
    checkResume,
    checkAutoEpochs,
  ],
};

/** --epochs auto's knobs apply to it alone, and its fits cannot be checkpointed yet. */
function checkAutoEpochs(options: FitValues): void {
  const auto = options.epochs === 'auto';
  for (const [flag, value] of [['--patience', options.patience], ['--max-epochs', options.maxEpochs], ['--validation-fraction', options.validationFraction]] as const) {
    if (value !== undefined && !auto) throw new UsageError(`${flag} applies to --epochs auto, not --epochs ${options.epochs}`);
  }
  if (options.validationFraction !== undefined && !(options.validationFraction < 1)) throw new UsageError(`--validation-fraction must be below 1, got ${options.validationFraction}`);
  if (auto && options.checkpoint) throw new UsageError('--checkpoint does not work with --epochs auto yet: give a number of --epochs to checkpoint a fit');
  if (auto) {
    const sequences = options.train.visible.length;
    const held = Math.max(1, Math.round(sequences * (options.validationFraction ?? VALIDATION_DEFAULTS.fraction)));
    if (held >= sequences) throw new UsageError(`--epochs auto holds out ${held} of the ${sequences} training sequences to tell when to stop, leaving none to train on: give more sequences`);
  }
}

/** The GLM baseline is fitted as the model was: the same epochs (as many as ran, with auto), batch, rate, seed, basis. */
function glmBaselineSettings(settings: FitSettings, result: FitResult): GlmSettings {
  return {
    epochs: typeof settings.epochs === 'number' ? settings.epochs : Math.max(1, result.epochsCompleted),
    ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
    ...(settings.learningRateGenerative !== undefined ? { learningRate: settings.learningRateGenerative } : {}),
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
    basis: result.model.basis,
  };
}

/**
 * The standard plots of a fit (--plots): its weights (beside the truth a --test synth file carries, when it fits), its
 * ELBO curve and, with --test data and hidden neurons, a raster of the first test sequence over its hidden posterior.
 */
async function writeFitPlots(folder: string, modelPath: string, result: FitResult, test: CountsFile | undefined, hidden: number, session: GpuSession, signal: AbortSignal): Promise<string[]> {
  const truth = test && checkGroundTruth(test, hidden, '--test') ? test.truth : undefined;
  const posterior = test && hidden > 0 ? await inferHidden(result.model, test.visible, { session, signal }) : undefined;
  return writeStandardPlots(folder, {
    model: result.model,
    modelPath,
    ...(truth ? { truth } : {}),
    ...(posterior && test ? { counts: test.visible, posterior } : {}),
  });
}

/** A fit from --init keeps that model's basis (its weights mean nothing with another): the basis flags must not differ. */
function checkBasisAgainstInit(options: FitValues): void {
  if (options.init && basisGiven(options)) {
    throw new UsageError(`--init keeps its model's basis (${options.init.basis.length} lags): leave out --basis-window, --basis-decay and --basis-bin-width, or start without --init`);
  }
}

/** Lags of the basis the fit will use: the init model's, or the one the flags describe. */
const basisLength = (options: FitValues): number => options.init?.basis.length ?? basisOf(options).length;

/** The fit the flags ask for, as the API takes it. */
function fitSettings(options: FitValues): FitSettings {
  return {
    hidden: options.hidden,
    // The GLM (hidden 0) has neither; fitMany routes it to its own kernels, which read neither.
    scheme: options.scheme ?? 'F',
    method: options.method ?? 'poisson',
    epochs: options.epochs,
    batchSize: options.batch,
    samples: options.mc,
    learningRateGenerative: options.lrGen,
    learningRateVariational: options.lrVar,
    seed: options.seed,
    ...(options.epochs === 'auto'
      ? { validation: { patience: options.patience, maxEpochs: options.maxEpochs, fraction: options.validationFraction } }
      : {}),
    ...(options.init ? {} : { basis: basisOf(options) }),
    ...(options.tau !== undefined ? { tau: options.tau } : {}),
    ...(options.categories !== undefined ? { categories: options.categories } : {}),
    ...(options.init ? { init: options.init } : {}),
  };
}

/** A checkpoint to resume must be one of this fit: the same settings and data (the API names what differs). */
function checkResume(options: FitValues): void {
  const resume = options.checkpoint?.resume;
  if (resume === undefined) return;
  try {
    checkFitResume(options.train.visible, fitSettings(options), resume as FitCheckpoint);
  } catch (error) {
    throw new UsageError(`--checkpoint ${options.checkpoint!.path}: ${(error as Error).message}`);
  }
}

async function fitCommand(context: CliContext, options: FitValues): Promise<void> {
  const { train, test, checkpoint } = options;
  const settings = fitSettings(options);
  const evalSamples = options.evalMc;
  const session = await context.session();
  const status = new StatusLine(process.stderr, Boolean(options.progress || process.stderr.isTTY));
  const started = performance.now();
  let result: FitResult;
  try {
    result = await fit(train.visible, settings, {
      session,
      signal: context.signal,
      ...(checkpoint
        ? {
            checkpoint: {
              every: options.checkpointEvery,
              resume: checkpoint.resume as FitCheckpoint | undefined,
              save: (state: FitCheckpoint) => writeJson(checkpoint.path, state),
            },
          }
        : {}),
      onProgress: (progress) => {
        if (progress.meanElbo === null) return;
        const elapsed = (performance.now() - started) / 1000;
        // An ETA from the epochs so far; with --epochs auto the count is an upper bound, and so is the ETA.
        const left = formatSeconds((elapsed / Math.max(progress.epoch, 1)) * (progress.epochs - progress.epoch));
        const of = settings.epochs === 'auto' ? `(auto, at most ${progress.epochs})` : `/${progress.epochs}`;
        status.update(`epoch ${progress.epoch}${of}  ELBO ${progress.meanElbo.toFixed(3)}  (${formatSeconds(elapsed)}, ${settings.epochs === 'auto' ? 'at most ' : ''}${left} left)`);
      },
    });
  } catch (error) {
    status.done();
    if (error instanceof NonFiniteError) {
      writeJson(options.out, error.result.model);
      context.err(`poglm: wrote the last finite parameters to ${options.out}`);
    }
    if (!(error instanceof NonFiniteError) && context.signal.aborted) throw new InterruptedExit('interrupted before the fit started: nothing to save');
    throw error;
  }
  status.done();
  writeJson(options.out, result.model);
  const { convergence, validation } = result.model.training ?? {};
  if (validation) context.err(`poglm: ${validationNote(validation, result.epochsCompleted)}`);
  else if (convergence?.stillImproving && !result.interrupted) context.err(`poglm: ${notConvergedNote(convergence)}`);
  const seconds = (performance.now() - started) / 1000;
  let metrics: Metrics | undefined;
  if (test && !context.signal.aborted) {
    const evaluationStarted = performance.now();
    metrics = await evaluate(result.model, test.visible, {
      session,
      samples: evalSamples,
      seed: settings.seed,
      signal: context.signal,
      onProgress: (done, total) => status.update(evaluationProgress(done, total, evaluationStarted)),
      ...groundTruthFor(test, settings.hidden, context),
    });
    // What the hidden neurons add: bits per spike over the homogeneous baseline and over the GLM of the same data.
    status.update('fitting the GLM baseline (hidden 0) for bits per spike');
    metrics = await withBaselineMetrics(metrics, train.visible, test.visible, {
      session,
      signal: context.signal,
      ...(settings.hidden > 0 ? { glm: glmBaselineSettings(settings, result) } : {}),
    });
    status.done();
  }
  const plots = options.plots && !context.signal.aborted ? await writeFitPlots(options.plots, options.out, result, test, settings.hidden, session, context.signal) : [];
  if (options.json) {
    context.out(
      JSON.stringify({
        out: options.out,
        epochs: result.epochsCompleted,
        steps: result.steps,
        seconds: round(seconds, 3),
        elboHistory: result.elboHistory,
        interrupted: result.interrupted,
        ...(convergence ? { convergence } : {}),
        ...(validation ? { validation } : {}),
        ...(metrics ? { metrics } : {}),
        ...(plots.length > 0 ? { plots } : {}),
      }),
    );
  } else {
    const last = result.elboHistory.at(-1);
    context.out(
      `wrote ${options.out}: ${settings.scheme}/${settings.method} H=${settings.hidden}, ${result.epochsCompleted} epochs (${result.steps} steps) ` +
        `in ${formatSeconds(seconds)} on ${session.adapter}; final training ELBO ${last?.toFixed(3) ?? 'n/a'}`,
    );
    if (metrics) context.out(`metrics on ${test!.description} (${metrics.samples} samples per sequence):\n${formatMetrics(metrics)}`);
    if (plots.length > 0) context.out(`plots: ${plots.join(', ')}`);
  }
  if (result.interrupted) {
    const resume = checkpoint ? `; run again with --resume to continue from ${checkpoint.path}` : '';
    throw new InterruptedExit(`interrupted: saved the model after ${result.steps} steps to ${options.out}${resume}`);
  }
}

export function registerFitCommand(program: Command): void {
  program
    .command('fit')
    .description('fit a POGLM with differentiable variational inference and write the model JSON')
    .requiredOption('--train <file.json>', 'training counts [sequence][time][neuron], or a `poglm synth` file')
    .option('--test <file.json>', 'test counts (or a `poglm synth` file: its ground truth is used too); evaluates after fitting')
    .requiredOption('--hidden <h>', 'number of hidden neurons (0: the fully observed GLM, the baseline)')
    .option('--scheme <F|FS|FB>', 'variational message passing: forward, forward-self, forward-backward (with --hidden above 0)')
    .option('--method <name>', 'hidden-spike distribution: poisson, categorical, gs-score, gs-pathwise, exponential, rayleigh, half-normal (with --hidden above 0)')
    .option('--epochs <n|auto>', 'passes over the training sequences, or auto: until the ELBO of held-out training sequences stops improving', '20')
    .option('--patience <n>', 'with --epochs auto: epochs without a better held-out ELBO before stopping (default 5)')
    .option('--max-epochs <n>', 'with --epochs auto: the most epochs (default 500)')
    .option('--validation-fraction <f>', 'with --epochs auto: the last fraction of the training sequences held out (default 0.2)')
    .option('--batch <n>', 'sequences per minibatch', '10')
    .option('--mc <m>', 'Monte Carlo samples per sequence', '5')
    .option('--lr-gen <rate>', 'Adam learning rate of the generative model', '0.05')
    .option('--lr-var <rate>', 'Adam learning rate of the variational model', '0.1')
    .option('--seed <k>', 'seed of the initialisation, minibatch order and noise', '0')
    .option('--tau <t>', 'Gumbel-Softmax temperature (default 1.0 for gs-score, 0.5 for gs-pathwise)')
    .option('--categories <k>', 'categories of the truncated Poisson (default 5)')
    .option('--init <model.json>', 'start from this model instead of the paper initialisation (and keep its basis)')
    .option('--basis-window <L>', `history basis: lags, in bins (default ${DEFAULT_BASIS_LENGTH}, the paper's; 10 for its PVC-5 run)`)
    .option('--basis-decay <d>', `history basis: psi[l-1] proportional to exp(-d l) (default ${DEFAULT_BASIS_DECAY})`)
    .option('--basis-bin-width <w>', 'history basis: normalised so that w x sum(psi) = 1 (default 1)')
    .option('--eval-mc <m>', 'samples per test sequence for the metrics', '2000')
    .requiredOption('--out <model.json>', 'output model')
    .option('--checkpoint <file.json>', 'save the whole training state here as it goes and at any stop (see --resume)')
    .option('--checkpoint-every <n>', 'epochs between checkpoints', '1')
    .option('--resume', 'continue from --checkpoint: ends with exactly the parameters of a fit that never stopped')
    .option('--plots <dir>', 'also draw as SVG here: the coupling weights (beside the truth a --test synth file carries), the ELBO curve and, with --test, a raster over the hidden posterior')
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--json', 'print a JSON summary')
    .action(commandAction(FIT_INPUTS, fitCommand));
}
