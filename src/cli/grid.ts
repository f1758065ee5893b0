// `poglm grid`: the paper's whole synthetic grid (trials x seeds x schemes x methods) in one process, or a sweep over
// the number of hidden neurons on one dataset; every model JSON plus per-fit and per-combination tables.
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { rowsToCsv, runGrid, summarise, summaryToCsv, summaryToMarkdown, type GridCheckpoint, type GridDataset, type GridRow, type GridSpec } from '../api/grid.js';
import { syntheticDataset } from '../api/synthetic.js';
import { chooseHidden, choiceToMarkdown } from '../api/choice.js';
import { validateCounts } from '../model/data.js';
import { MAX_HIDDEN } from '../engine/sizing.js';
import { UsageError, writeAtomically, writeJson } from './files.js';
import { checkGroundTruth } from './readers.js';
import { commandAction, InterruptedExit, type CliContext } from './runner.js';
import {
  BASIS_FLAGS,
  basisOf,
  checkpointInput,
  countsInput,
  flagInput,
  integerInput,
  integerListInput,
  methodListInput,
  optional,
  outputFolderInput,
  positiveInput,
  schemeListInput,
  type CommandInputs,
  type Input,
  type InputValues,
} from './inputs.js';
import { checkBasisFits, checkHiddenCount } from './limits.js';
import { formatSeconds, StatusLine } from './progress.js';

const GRID_FLAGS = {
  trials: optional(integerListInput('--trials', { max: 2 ** 32 - 1 })),
  seeds: integerListInput('--seeds', { max: 2 ** 32 - 1 }),
  schemes: schemeListInput('--schemes'),
  methods: methodListInput('--methods'),
  // 0 is the fully observed GLM: a sweep from 0 says whether hidden neurons help at all.
  hidden: integerListInput('--hidden', { min: 0, max: MAX_HIDDEN }),
  epochs: integerInput('--epochs', { min: 1 }),
  batch: integerInput('--batch', { min: 1 }),
  mc: integerInput('--mc', { min: 1 }),
  evalMc: integerInput('--eval-mc', { min: 1 }),
  ...BASIS_FLAGS,
  lrGen: positiveInput('--lr-gen'),
  lrVar: positiveInput('--lr-var'),
  out: outputFolderInput('--out'),
  // The grid's checkpoint lives in its output folder: --resume continues the grid written there.
  checkpoint: gridCheckpointInput(),
  checkpointEvery: integerInput('--checkpoint-every', { min: 1 }),
  resume: flagInput('--resume'),
  train: optional(countsInput('--train', 'train')),
  test: optional(countsInput('--test', 'test')),
  progress: flagInput('--progress'),
  json: flagInput('--json'),
};
type GridValues = InputValues<typeof GRID_FLAGS>;

const GRID_INPUTS: CommandInputs<typeof GRID_FLAGS> = {
  flags: GRID_FLAGS,
  relations: [
    ({ trials, train }) => {
      if (Boolean(trials) === Boolean(train)) throw new UsageError('give either --trials (synthetic trials of the paper) or --train with --test (your data)');
    },
    (options) => {
      const { train, test } = options;
      if (train && !test) throw new UsageError('--train needs --test: the grid reports test likelihoods');
      if (train && test) validateCounts(test.description, test.visible, { neurons: train.visible[0][0].length });
      for (const file of [train, test]) if (file) checkBasisFits(file.description, file.visible[0].length, basisOf(options).length, 'longer sequences');
    },
    (options) => options.hidden.forEach((count) => checkHiddenCount('--hidden', count, basisOf(options).length)),
    // Ground truth is used for the hidden counts it describes; its shape is checked whatever they are.
    ({ test, hidden }) => test && hidden.forEach((count) => checkGroundTruth(test, count, '--test')),
  ],
};

/**
 * A grid's checkpoint.json in the folder it writes, read with --resume and refused without it (checkpointInput).
 * `folderOf` finds that folder from the raw flags (default --out), or says the command runs no grid (undefined).
 */
export function gridCheckpointInput(
  folderOf: (others: Record<string, string | undefined>) => string | undefined = (others) => others.out,
): Input<{ path: string; resume?: unknown } | undefined> {
  const inFolder = checkpointInput('--out', '--out');
  return {
    flag: '--out',
    read: (_raw, others) => {
      const folder = folderOf(others);
      return folder === undefined ? undefined : inFolder.read(join(folder, CHECKPOINT_FILE), others);
    },
  };
}

const CHECKPOINT_FILE = 'checkpoint.json';

/** A name for files: the data file's name without folders or extension (../data/rec1.json -> rec1). */
export function fileStem(name: string): string {
  const stem = basename(name).replace(/\.[^.]*$/, '');
  return stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'data';
}

async function gridCommand(context: CliContext, options: GridValues): Promise<void> {
  const spec = {
    seeds: options.seeds,
    schemes: options.schemes,
    methods: options.methods,
    hidden: options.hidden,
    epochs: options.epochs,
    batchSize: options.batch,
    samples: options.mc,
    evalSamples: options.evalMc,
    basis: basisOf(options),
    learningRateGenerative: options.lrGen,
    learningRateVariational: options.lrVar,
  };
  const session = await context.session();
  const status = new StatusLine(process.stderr, Boolean(options.progress || process.stderr.isTTY));
  const datasets: GridDataset[] = [];
  if (options.trials) {
    for (const trial of options.trials) {
      status.update(`simulating synthetic trial ${trial}`);
      const data = await syntheticDataset(trial, { signal: context.signal }, session);
      datasets.push({ name: `trial ${trial}`, train: data.train.visible, test: data.test.visible, testHidden: data.test.hidden, truth: data.truth.generative });
    }
  } else {
    // The relations made sure that --train and --test are both given here.
    const train = options.train!;
    const test = options.test!;
    datasets.push({ name: train.path, train: train.visible, test: test.visible, testHidden: test.hidden, truth: test.truth });
  }
  await runAndWriteGrid(context, datasets, spec, {
    out: options.out,
    progress: options.progress,
    json: options.json,
    checkpointEvery: options.checkpointEvery,
    resume: options.checkpoint?.resume as GridCheckpoint | undefined,
    fileName: options.trials ? (text) => text.replace(/[^A-Za-z0-9.-]+/g, '-') : fileStem,
    status,
  });
}

/** A grid's settings with those its report shows filled in. */
export type GridSettings = Omit<GridSpec, 'datasets'> & Required<Pick<GridSpec, 'seeds' | 'schemes' | 'methods' | 'hidden' | 'epochs' | 'batchSize' | 'samples' | 'evalSamples'>>;

export interface GridRun {
  out: string;
  progress?: boolean;
  json?: boolean;
  checkpointEvery: number;
  resume?: GridCheckpoint;
  /** The model files' name of a dataset. */
  fileName: (dataset: string) => string;
  status?: StatusLine;
}

/**
 * Runs a grid and writes everything into `run.out`: the models as soon as fitting ends, fits.csv, summary.csv and
 * summary.md (with the choice of H for a sweep), and checkpoint.json as it goes; exits as a grid does (130/143 on a
 * stop, 1 when fits went non-finite). For `poglm grid` and `poglm paper`.
 */
export async function runAndWriteGrid(context: CliContext, datasets: GridDataset[], spec: GridSettings, run: GridRun): Promise<GridRow[]> {
  const session = await context.session();
  const status = run.status ?? new StatusLine(process.stderr, Boolean(run.progress || process.stderr.isTTY));
  const options = run;
  const safe = run.fileName;
  const total = datasets.length * spec.seeds.length * spec.schemes.length * spec.methods.length * spec.hidden.length;
  const started = performance.now();
  let fitSeconds = 0;
  const notes = new Set<string>();
  const rows = await runGrid(
    { datasets, ...spec },
    {
      session,
      signal: context.signal,
      checkpoint: {
        every: options.checkpointEvery,
        resume: options.resume,
        save: (state: GridCheckpoint) => writeJson(join(options.out, CHECKPOINT_FILE), state),
      },
      onProgress: (progress) => {
        if (progress.note && !notes.has(progress.note)) {
          notes.add(progress.note);
          status.done();
          context.err(`poglm: ${progress.note}`);
        }
        status.update(
          `fits ${progress.fitsDone}/${total} (${progress.fitsPerSecond.toFixed(2)} fits/s, ${formatSeconds(progress.elapsedSeconds)})  ` +
            `${progress.group}: epoch ${progress.epoch}/${progress.epochs}${progress.meanElbo === null ? '' : ` ELBO ${progress.meanElbo.toFixed(2)}`}`,
        );
      },
      // The models are saved before evaluation starts, so that nothing in evaluation can lose them.
      onFitted: (fitted) => {
        fitSeconds = (performance.now() - started) / 1000;
        for (const row of fitted) {
          if (row.fit) writeJson(join(options.out, 'models', `${safe(row.dataset)}_seed${row.seed}_${row.scheme}_${row.method}_H${row.hidden}.json`), row.fit.model);
        }
        status.update(`fitted ${fitted.filter((row) => row.fit).length}/${total} in ${formatSeconds(fitSeconds)} (models saved); evaluating`);
      },
    },
  );
  status.done(`fitted ${rows.filter((row) => row.fit).length}/${total} in ${formatSeconds(fitSeconds)}; evaluated ${rows.filter((row) => row.metrics).length}`);
  const summary = summarise(rows);
  writeAtomically(join(options.out, 'fits.csv'), `${rowsToCsv(rows)}\n`);
  writeAtomically(join(options.out, 'summary.csv'), `${summaryToCsv(summary)}\n`);
  const seconds = (performance.now() - started) / 1000;
  const heading =
    `Grid of ${total} fits (${datasets.length} dataset(s) x ${spec.seeds.length} seeds x ${spec.schemes.length} schemes x ` +
    `${spec.methods.length} methods x ${spec.hidden.length} hidden counts), ${spec.epochs} epochs, batch ${spec.batchSize}, ` +
    `M = ${spec.samples}; metrics with ${spec.evalSamples} samples per test sequence; ${formatSeconds(seconds)} on ${session.adapter}.`;
  // A sweep over H says which it picks, by held-out marginal likelihood, and how sure the pick is.
  const choice = spec.hidden.length > 1 ? chooseHidden(rows.flatMap((row) => (row.metrics ? [{ ...row, metrics: row.metrics }] : []))) : [];
  const choiceText = choice.length > 0 ? `\n\n## Choice of H\n\n${choiceToMarkdown(choice)}` : '';
  writeAtomically(join(options.out, 'summary.md'), `${heading}\n\nMean ± standard deviation over datasets and seeds.\n\n${summaryToMarkdown(summary)}${choiceText}\n`);
  if (options.json) {
    context.out(JSON.stringify({ out: options.out, fits: total, seconds, fitSeconds, fitsPerSecond: total / fitSeconds, summary, ...(choice.length > 0 ? { choice } : {}) }));
  } else {
    context.out(`${heading}\nwrote ${options.out}/models/*.json, fits.csv, summary.csv, summary.md\n\n${summaryToMarkdown(summary)}${choiceText}`);
  }
  if (context.signal.aborted) {
    throw new InterruptedExit(
      `interrupted: wrote the ${rows.filter((row) => row.fit).length} fitted models and the metrics of ${rows.filter((row) => row.metrics).length}; ` +
        `run the same command with --resume to continue from ${join(options.out, CHECKPOINT_FILE)}`,
    );
  }
  // Every table is written; the exit code still says that some fits did not finish, as a single fit's would.
  const failed = rows.filter((row) => row.fit?.failure);
  if (failed.length > 0) {
    throw new GridFailure(`${failed.length} of ${total} fits stopped on a non-finite value (their last finite parameters are saved; fits.csv says which and at what step)`);
  }
  return rows;
}

/** Some fits of a grid stopped on a non-finite value: exit 1 once everything else is written. */
class GridFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GridFailure';
  }
}


export function registerGridCommand(program: Command): void {
  program
    .command('grid')
    .description('fit and evaluate a grid of models in one job: synthetic trials of the paper, or a hidden-count sweep on your data')
    .option('--trials <list>', 'synthetic trials, e.g. 0-9')
    .option('--train <file.json>', 'training counts (instead of --trials)')
    .option('--test <file.json>', 'test counts (with --train)')
    .option('--seeds <list>', 'seeds, e.g. 0-9', '0')
    .option('--schemes <list>', 'F,FS,FB or all', 'all')
    .option('--methods <list>', 'method names or all', 'all')
    .option('--hidden <list>', 'hidden counts, e.g. 0-5 (0 is the fully observed GLM; synthetic trials have 2)', '2')
    .option('--epochs <n>', 'epochs per fit', '20')
    .option('--batch <n>', 'sequences per minibatch', '10')
    .option('--mc <m>', 'Monte Carlo samples per sequence in training', '5')
    .option('--eval-mc <m>', 'samples per test sequence in evaluation', '2000')
    .option('--basis-window <L>', 'history basis: lags, in bins (default 5)')
    .option('--basis-decay <d>', 'history basis: psi[l-1] proportional to exp(-d l) (default 0.25)')
    .option('--basis-bin-width <w>', 'history basis: normalised so that w x sum(psi) = 1 (default 1)')
    .option('--lr-gen <rate>', 'Adam learning rate of the generative model', '0.05')
    .option('--lr-var <rate>', 'Adam learning rate of the variational model', '0.1')
    .requiredOption('--out <dir>', 'output folder (it also holds checkpoint.json, the state to --resume from)')
    .option('--checkpoint-every <n>', 'epochs between checkpoints of the job that is training', '1')
    .option('--resume', 'continue the grid in --out from its checkpoint: ends with exactly the rows of a grid that never stopped')
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--json', 'print a JSON summary')
    .action(commandAction(GRID_INPUTS, gridCommand));
}
