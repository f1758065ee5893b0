// `poglm plot weights|elbo|sweep|raster`: the plots of src/plot/ written as SVG or PNG, the format taken from the
// --out extension, and writeStandardPlots for `poglm fit --plots DIR`. No GPU: every input is read and checked
// (src/cli/inputs.ts) before anything is drawn, so a bad one is exit 2. PNG is rasterised here, in Node only, with
// resvg loaded on first use, so that nothing of it reaches src/plot/ or a browser bundle.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, extname, join, resolve } from 'node:path';
import type { Spec } from 'vega';
import { DataError } from '../model/data.js';
import type { PoglmModelJson } from '../model/json.js';
import { checkTruth } from '../model/metrics.js';
import type { GenerativeParams } from '../model/types.js';
import { elboSpec, finiteEpochs, type ElboCurve } from '../plot/elbo.js';
import { checkPosterior, checkPosteriorMatchesCounts, posteriorHidden, type Posterior } from '../plot/posterior.js';
import { rasterSpec, spikeCount } from '../plot/raster.js';
import { renderSvg } from '../plot/render.js';
import { sweepSpec } from '../plot/sweep.js';
import { parseSweepCsv, sweepPoints, type SweepTable } from '../plot/sweep-table.js';
import { weightsSpec } from '../plot/weights.js';
import { UsageError, writeAtomically } from './files.js';
import { integerInput, optional, readInput, type CommandInputs, type Input, type InputValues } from './inputs.js';
import { readCounts, readJson, readModelFile, readTruth, type CountsFile } from './readers.js';
import { commandAction, type CliContext } from './runner.js';

// ---------------------------------------------------------------------------------------------------------------
// Output: the format from the extension, SVG or PNG, written atomically

export type PlotFormat = 'svg' | 'png';

export interface PlotOutput {
  path: string;
  format: PlotFormat;
}

/** The format a plot file is written in, from its extension; anything but .svg or .png is a usage error. */
export function plotFormat(flag: string, path: string): PlotFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.svg' || extension === '.png') return extension.slice(1) as PlotFormat;
  const stem = extension ? path.slice(0, -extension.length) : path;
  const ends = extension ? `ends in "${extension}"` : 'has no extension';
  throw new UsageError(`${flag} ${path} ${ends}: the format is taken from the extension, .svg or .png; name it e.g. ${stem}.svg`);
}

function required(flag: string, raw: string | undefined): string {
  if (raw === undefined) throw new UsageError(`${flag} is required`);
  return raw;
}

/** --out: a file to write (checked writable, and not one of the inputs), whose extension says the format. */
function plotOutputInput(flag: string): Input<PlotOutput> {
  return {
    flag,
    path: 'write',
    read: (raw) => {
      const path = required(flag, raw);
      return { path, format: plotFormat(flag, path) };
    },
  };
}

/** The TrueType files PNG text is drawn with: shipped by a package, so labels render on a machine without fonts. */
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

function fontFiles(): string[] {
  const require = createRequire(import.meta.url);
  return FONT_FILES.map((file) => require.resolve(`dejavu-fonts-ttf/ttf/${file}`));
}

/**
 * An SVG rasterised to PNG at `scale` pixels per SVG unit (2 by default, sharp on high-density screens). Only the
 * packaged fonts are loaded, and "sans-serif" (what the plots ask for) maps to DejaVu Sans, so a PNG is the same on
 * every machine whatever fonts it has.
 */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  let resvg: typeof import('@resvg/resvg-js');
  try {
    resvg = await import('@resvg/resvg-js');
  } catch (error) {
    throw new Error(
      `PNG output needs @resvg/resvg-js with its prebuilt binary for ${process.platform}-${process.arch}, which did not load ` +
        `(${(error as Error).message}): reinstall the package's dependencies (npm install), or write .svg instead`,
    );
  }
  const font = { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' };
  const renderer = new resvg.Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: scale }, font });
  return renderer.render().asPng();
}

/** Renders `spec` and writes it to `output` in its format. */
export async function writePlot(output: PlotOutput, spec: Spec): Promise<void> {
  const svg = await renderSvg(spec);
  if (output.format === 'svg') writeAtomically(output.path, svg);
  else writeAtomically(output.path, await svgToPng(svg));
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs shared by the plots

const READ_FAILURES: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'it is a folder, not a file', EACCES: 'permission denied' };

/** A text file named by `flag`, as UTF-8; unreadable is a usage error, not UTF-8 a data error. */
function readText(path: string, flag: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${flag} file ${path}: ${code ?? String(error)}${code && READ_FAILURES[code] ? ` (${READ_FAILURES[code]})` : ''}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`${flag} file ${path} is not UTF-8 text: give the CSV file poglm grid wrote`);
  }
}

const modelInput = (flag: string): Input<{ path: string; model: PoglmModelJson }> => readInput(flag, (path) => ({ path, model: readModelFile(path, flag) }));

/**
 * Commander collects the paths of a repeated or variadic flag into one string joined by NUL, which no argument can
 * hold: checkInputs reads each flag as one string, and a comma or space could be part of a file name.
 */
const PATH_SEPARATOR = '\0';
export const collectPaths = (value: string, previous: string | undefined): string => (previous === undefined ? value : `${previous}${PATH_SEPARATOR}${value}`);

function checkNotOutput(out: PlotOutput, flag: string, paths: string[]): void {
  const clash = paths.find((path) => resolve(path) === resolve(out.path));
  if (clash !== undefined) throw new UsageError(`--out ${out.path} is also the ${flag} file: writing it would overwrite the input; choose another --out`);
}

// ---------------------------------------------------------------------------------------------------------------
// poglm plot weights

const WEIGHTS_FLAGS = {
  out: plotOutputInput('--out'),
  model: modelInput('--model'),
  // Checked for its own shape here and against the model's neurons below, once both are read.
  truth: optional(readInput('--truth', (path) => ({ path, truth: readTruth(path) }))),
};

export const WEIGHTS_INPUTS: CommandInputs<typeof WEIGHTS_FLAGS> = {
  flags: WEIGHTS_FLAGS,
  relations: [({ model, truth }) => truth && checkTruth(truth.truth, model.model.visible + model.model.hidden, `--truth ${truth.path}`)],
};

export async function weightsCommand(context: CliContext, { out, model, truth }: InputValues<typeof WEIGHTS_FLAGS>): Promise<void> {
  await writePlot(out, weightsSpec(model.model, truth?.truth, `coupling weights W of ${basename(model.path)}`));
  const beside = truth ? ` beside the true W of ${truth.path}, hidden neurons matched` : '';
  context.out(`wrote ${out.path}: the ${model.model.visible + model.model.hidden} x ${model.model.visible + model.model.hidden} learned W of ${model.path}${beside}`);
}

// ---------------------------------------------------------------------------------------------------------------
// poglm plot elbo

/** A model's ELBO curve, named in the legend by its file name (its path where two files share a name). */
function elboCurves(models: { path: string; model: PoglmModelJson }[]): ElboCurve[] {
  const names = models.map(({ path }) => basename(path));
  return models.map(({ path, model }, i) => ({
    name: names.filter((name) => name === names[i]).length > 1 ? path : names[i],
    elbo: model.training?.elboHistory ?? [],
  }));
}

/** --model given once or more, or with several files after it: every model read and checked. */
const elboModelsInput: Input<{ path: string; model: PoglmModelJson }[]> = {
  flag: '--model',
  path: 'read',
  read: (raw) => required('--model', raw).split(PATH_SEPARATOR).map((path) => ({ path, model: readModelFile(path, '--model') })),
};

const ELBO_FLAGS = { out: plotOutputInput('--out'), model: elboModelsInput };

export const ELBO_INPUTS: CommandInputs<typeof ELBO_FLAGS> = {
  flags: ELBO_FLAGS,
  relations: [
    ({ out, model }) => checkNotOutput(out, '--model', model.map(({ path }) => path)),
    ({ model }) => {
      for (const { path, model: json } of model) {
        if (finiteEpochs([{ name: path, elbo: json.training?.elboHistory ?? [] }]) === 0) {
          throw new DataError(`--model ${path} has no finite training ELBO (training.elboHistory is missing, empty or all null): plot a model that poglm fit trained for at least one epoch`);
        }
      }
    },
  ],
};

export async function elboCommand(context: CliContext, { out, model }: InputValues<typeof ELBO_FLAGS>): Promise<void> {
  const curves = elboCurves(model);
  await writePlot(out, elboSpec(curves));
  context.out(`wrote ${out.path}: the training ELBO of ${curves.length} model${curves.length > 1 ? 's' : ''} (${finiteEpochs(curves)} epochs in all)`);
}

// ---------------------------------------------------------------------------------------------------------------
// poglm plot sweep

export const DEFAULT_SWEEP_METRIC = 'testMarginalLogLikelihood';

const metricInput: Input<string> = { flag: '--metric', read: (raw) => (raw === undefined || raw.trim() === '' ? DEFAULT_SWEEP_METRIC : raw.trim()) };

const SWEEP_FLAGS = {
  out: plotOutputInput('--out'),
  metric: metricInput,
  summary: readInput('--summary', (path): SweepTable => parseSweepCsv(readText(path, '--summary'), `--summary ${path}`)),
};

export const SWEEP_INPUTS: CommandInputs<typeof SWEEP_FLAGS> = {
  flags: SWEEP_FLAGS,
  relations: [
    ({ summary, metric }) => {
      if (!summary.metrics.includes(metric)) throw new UsageError(`--metric ${metric}: ${summary.source} has no column for it; choose one of ${summary.metrics.join(', ')}`);
      if (sweepPoints(summary, metric).length === 0) throw new DataError(`${summary.source} has no finite value of ${metric} (every fit failed, or the metric needs ground truth): nothing to plot`);
    },
  ],
};

export async function sweepCommand(context: CliContext, { out, metric, summary }: InputValues<typeof SWEEP_FLAGS>): Promise<void> {
  const points = sweepPoints(summary, metric);
  await writePlot(out, sweepSpec(points, metric));
  const series = new Set(points.map((point) => point.series)).size;
  context.out(`wrote ${out.path}: ${metric} against H from the ${summary.kind} table, ${series} series, ${points.length} points`);
}

// ---------------------------------------------------------------------------------------------------------------
// poglm plot raster

const PARTS = ['test', 'train'] as const;
type Part = (typeof PARTS)[number];

function part(raw: string | undefined): Part {
  const value = raw ?? 'test';
  if (!(PARTS as readonly string[]).includes(value)) throw new UsageError(`--part must be test or train, got "${value}"`);
  return value as Part;
}

const partInput: Input<Part> = { flag: '--part', read: part };

/** A `poglm synth` file holds train and test parts: --part (read before any file) says which the inference is of. */
const rasterDataInput: Input<CountsFile & { path: string }> = {
  flag: '--data',
  path: 'read',
  read: (raw, others) => {
    const path = required('--data', raw);
    return { ...readCounts(path, part(others.part), '--data'), path };
  },
};

const RASTER_FLAGS = {
  sequence: integerInput('--sequence', { min: 0 }),
  part: partInput,
  out: plotOutputInput('--out'),
  data: rasterDataInput,
  infer: readInput('--infer', (path) => ({ path, posterior: checkPosterior(readJson(path, '--infer'), `--infer ${path}`) })),
};

export const RASTER_INPUTS: CommandInputs<typeof RASTER_FLAGS> = {
  flags: RASTER_FLAGS,
  relations: [
    ({ data, infer }) => checkPosteriorMatchesCounts(infer.posterior, data.visible, { posterior: `--infer ${infer.path}`, counts: `--data ${data.path}` }),
    ({ data, sequence }) => {
      const count = data.visible.length;
      if (sequence >= count) throw new UsageError(`--sequence ${sequence} is out of range: --data ${data.path} has ${count} sequence${count > 1 ? 's' : ''} (0 to ${count - 1})`);
    },
  ],
};

/** The true hidden spikes of the sequence, when the counts file has them for as many hidden neurons as the inference. */
function trueHiddenOf(data: CountsFile, posterior: Posterior, sequence: number): number[][] | undefined {
  const hidden = data.hidden?.[sequence];
  return hidden && hidden[0]?.length === posteriorHidden(posterior) ? hidden : undefined;
}

export async function rasterCommand(context: CliContext, { out, data, infer, sequence }: InputValues<typeof RASTER_FLAGS>): Promise<void> {
  const trueHidden = trueHiddenOf(data, infer.posterior, sequence);
  const visible = data.visible[sequence];
  await writePlot(out, rasterSpec({ sequence, visible, means: infer.posterior.means[sequence], trueHidden }));
  const truth = trueHidden ? ', with the true hidden spikes' : '';
  context.out(`wrote ${out.path}: sequence ${sequence}, ${spikeCount(visible)} visible spikes in ${visible.length} bins, ${posteriorHidden(infer.posterior)} hidden posterior rows${truth}`);
}

// ---------------------------------------------------------------------------------------------------------------
// poglm fit --plots DIR

export interface StandardPlotInputs {
  model: PoglmModelJson;
  /** The model's file, for titles and the legend. */
  modelPath: string;
  /** True parameters over the model's neurons (visible first). */
  truth?: GenerativeParams;
  /** Visible counts [sequence][bin][neuron] that `posterior` is the inference of. */
  counts?: number[][][];
  posterior?: { means: number[][][] };
}

/**
 * Writes weights.svg, elbo.svg (when the training record has a finite epoch) and raster.svg of sequence 0 (when
 * counts and posterior are given) into `dir`, and returns their paths. Everything is checked before the first file
 * is written: truth of another shape, or a posterior of other counts, is a DataError and nothing is written.
 */
export async function writeStandardPlots(dir: string, inputs: StandardPlotInputs): Promise<string[]> {
  const { model, modelPath } = inputs;
  if (inputs.truth) checkTruth(inputs.truth, model.visible + model.hidden, 'the true parameters');
  const plots: [string, Spec][] = [['weights.svg', weightsSpec(model, inputs.truth, `coupling weights W of ${basename(modelPath)}`)]];
  const curve = { name: basename(modelPath), elbo: model.training?.elboHistory ?? [] };
  if (finiteEpochs([curve]) > 0) plots.push(['elbo.svg', elboSpec([curve])]);
  if (inputs.counts && inputs.posterior) {
    const posterior = checkPosterior(inputs.posterior, 'the posterior');
    checkPosteriorMatchesCounts(posterior, inputs.counts, { posterior: 'the posterior', counts: 'the counts' });
    plots.push(['raster.svg', rasterSpec({ sequence: 0, visible: inputs.counts[0], means: posterior.means[0] })]);
  }
  const written: string[] = [];
  for (const [name, spec] of plots) {
    const path = join(dir, name);
    await writePlot({ path, format: 'svg' }, spec);
    written.push(path);
  }
  return written;
}

// ---------------------------------------------------------------------------------------------------------------
// The command

const OUT_HELP = 'output file: .svg or .png (the format is taken from the extension)';

export function registerPlotCommand(program: Command): void {
  const plot = program.command('plot').description('draw a model, its training, a grid or an inference as SVG or PNG (no GPU)');

  plot
    .command('weights')
    .description('heatmap of the coupling weights W (row: receiving, column: sending; visible then hidden), beside the true W after matching hidden neurons')
    .requiredOption('--model <model.json>', 'fitted model')
    .option('--truth <file>', 'true parameters: a `poglm synth` file, a model JSON, or {"weight", "bias"}')
    .requiredOption('--out <file.svg|file.png>', OUT_HELP)
    .action(commandAction(WEIGHTS_INPUTS, weightsCommand));

  plot
    .command('elbo')
    .description('training ELBO per epoch of one or more models (legend by file name)')
    .requiredOption('--model <model.json...>', 'fitted models', collectPaths)
    .requiredOption('--out <file.svg|file.png>', OUT_HELP)
    .action(commandAction(ELBO_INPUTS, elboCommand));

  plot
    .command('sweep')
    .description('a metric against hidden neurons H, mean ± standard error, one line per scheme/method, from a grid\'s summary.csv or fits.csv')
    .requiredOption('--summary <summary.csv>', 'the grid table (summary.csv or fits.csv)')
    .option('--metric <name>', 'the metric column', DEFAULT_SWEEP_METRIC)
    .requiredOption('--out <file.svg|file.png>', OUT_HELP)
    .action(commandAction(SWEEP_INPUTS, sweepCommand));

  plot
    .command('raster')
    .description('visible spikes of one sequence with the hidden posterior means under it (and the true hidden spikes, from a synth file)')
    .requiredOption('--data <counts.json>', 'counts [sequence][bin][neuron], or a `poglm synth` file')
    .requiredOption('--infer <posterior.json>', 'inference {"means": [sequence][bin][hidden]} of those counts')
    .option('--sequence <s>', 'the sequence to draw', '0')
    .option('--part <test|train>', 'the part of a `poglm synth` file the inference is of', 'test')
    .requiredOption('--out <file.svg|file.png>', OUT_HELP)
    .action(commandAction(RASTER_INPUTS, rasterCommand));
}
