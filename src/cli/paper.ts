// `poglm paper rgc|pvc5 --data FILE --prepare --out DIR`: the preprocessing of the paper's two real datasets, count
// for count as its Python code does it, into DIR/train.json, DIR/test.json and DIR/manifest.json.
//   rgc: SpTimesRGC.mat (Pillow et al. 2008), a 1 x 27 cell of spike times counted in frames of the 120 Hz stimulus.
//     Bins are frames: scipy.stats.binned_statistic(times, None, 'count', bins=[0, 1, ..., 144000]) per neuron, 20 min
//     x 60 x 120 = 144,000 bins, 1,440 sequences of 100; the first 960 train, the other 480 test.
//   pvc5: a wave_clus times_*.mat, whose cluster_class holds (cluster, time in ms) rows. Times / 1000 in seconds,
//     numpy.histogram on linspace(0, 900, 45001) (20 ms bins over 900 s) per cluster, in ascending order of cluster:
//     45,000 bins, 450 sequences of 100; the first 225 train, the other 225 test.
// Both histograms close their last bin on the right ([edge, end]): a spike exactly at the end counts in the last bin,
// and binned_statistic also counts there a spike that rounds to the end at 6 decimals, as scipy does.
// Without --prepare the command goes on to run the paper's grid of fits on them (src/cli/grid.ts runAndWriteGrid),
// with the paper's settings (RGC: minibatch 32, M = 5, H 1-3; PVC-5: minibatch 25, M = 10, basis window 10, H 1-9; 20
// epochs; the GLM, H = 0, beside them), and writes its tables and the H-sweep figure into DIR/grid.
import type { Command } from 'commander';
import { UsageError } from './files.js';
import {
  flagInput,
  integerInput,
  integerListInput,
  methodListInput,
  optional,
  outputFolderInput,
  readInput,
  schemeListInput,
  type Input,
  type InputValues,
} from './inputs.js';
import { readFileSync } from 'node:fs';
import { readCounts } from './readers.js';
import { gridCheckpointInput, runAndWriteGrid } from './grid.js';
import type { GridCheckpoint } from '../api/grid.js';
import { exponentialBasis } from '../model/basis.js';
import { parseSweepCsv, sweepPoints } from '../plot/sweep-table.js';
import { sweepSpec } from '../plot/sweep.js';
import { renderSvg } from '../plot/render.js';
import { commandAction, InterruptedExit, type CliContext } from './runner.js';
import { hashSource, openSpikeInput } from './bin.js';
import { writeAtomically } from './files.js';
import { MAX_OUTPUT_CELLS } from './limits.js';
import { binSpikes } from '../io/binning.js';
import { assignSplits } from '../io/split.js';
import { writeBinned, type TimeBase } from '../io/outputs.js';
import { join } from 'node:path';

interface Experiment {
  name: string;
  description: string;
  /** The paper's fitting settings for this dataset. */
  grid: { hidden: number[]; batchSize: number; samples: number; basisWindow: number };
  base: TimeBase;
  /** The recording's end in bin units: frames (rgc) or seconds (pvc5). */
  duration: number;
  sequenceBins: number;
  train: number;
  /** Which spikes at or after the end count in the last bin. */
  closedEnd: (time: number) => boolean;
}

/** numpy's rint: to the nearest integer, halves to even (Math.round sends halves up). */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

const RGC_FRAMES = 20 * 60 * 120;
const PVC5_SECONDS = 900;

export const EXPERIMENTS: Record<'rgc' | 'pvc5', Experiment> = {
  rgc: {
    name: 'rgc',
    description: "the paper's retinal ganglion cells (SpTimesRGC.mat: a cell array of spike times in frames of the 120 Hz stimulus)",
    grid: { hidden: [0, 1, 2, 3], batchSize: 32, samples: 5, basisWindow: 5 },
    base: { timeUnit: 'frames', frames: true, timeScale: 1, perSecond: 120, binWidth: 1 },
    duration: RGC_FRAMES,
    sequenceBins: 100,
    train: 960,
    // scipy's binned_statistic moves to the last bin the samples that equal its right edge when both are rounded to
    // int(-log10(smallest bin width)) + 6 = 6 decimals (np.around: times 1e6, rint, divided by 1e6).
    closedEnd: (time) => roundHalfEven(time * 1e6) / 1e6 === RGC_FRAMES,
  },
  pvc5: {
    name: 'pvc5',
    description: "the paper's primary visual cortex recording (a wave_clus times_*.mat: cluster_class rows of cluster and time in ms)",
    grid: { hidden: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], batchSize: 25, samples: 10, basisWindow: 10 },
    base: { timeUnit: 'ms', frames: false, timeScale: 1000, perSecond: 1, binWidth: PVC5_SECONDS / 45000 },
    duration: PVC5_SECONDS,
    sequenceBins: 100,
    train: 225,
    // numpy.histogram's last bin is [edge, 900]: a spike at 900 s exactly is in it.
    closedEnd: (time) => time === PVC5_SECONDS,
  },
};

function paperInputs() {
  return {
    flags: {
      data: readInput('--data', (path) => path),
      variable: optional({ flag: '--variable', read: (raw: string | undefined) => raw } as Input<string | undefined>),
      prepare: flagInput('--prepare'),
      seeds: integerListInput('--seeds', { max: 2 ** 32 - 1 }),
      schemes: schemeListInput('--schemes'),
      methods: methodListInput('--methods'),
      epochs: integerInput('--epochs', { min: 1 }),
      evalMc: integerInput('--eval-mc', { min: 1 }),
      checkpointEvery: integerInput('--checkpoint-every', { min: 1 }),
      resume: flagInput('--resume'),
      progress: flagInput('--progress'),
      out: outputFolderInput('--out'),
      // The grid's checkpoint is DIR/grid/checkpoint.json: --resume continues it, and it is not overwritten without.
      checkpoint: gridCheckpointInput((others) => (others.prepare !== undefined || others.out === undefined ? undefined : join(others.out, 'grid'))),
      json: flagInput('--json'),
    },
  };
}

type PaperValues = InputValues<ReturnType<typeof paperInputs>['flags']>;

async function prepare(experiment: Experiment, context: CliContext, values: PaperValues): Promise<void> {
  const input = await openSpikeInput(values.data, { variable: values.variable, flag: '--data' }, context.signal);
  if (input.kind !== 'times') throw new UsageError(`--data ${values.data} holds counts; poglm paper ${experiment.name} bins the recording's spike times itself`);
  const { base } = experiment;
  const binned = await binSpikes(input.source, {
    binWidth: base.binWidth,
    timeScale: base.timeScale,
    binUnit: base.frames ? 'frames' : 's',
    sequences: { align: 'recording', duration: experiment.duration, sequenceBins: experiment.sequenceBins },
    closedEnd: experiment.closedEnd,
    maxCells: MAX_OUTPUT_CELLS,
  });
  if (context.signal.aborted) throw new InterruptedExit('interrupted: nothing was written');
  for (const note of input.notes) context.err(`poglm: ${note}`);
  const units = Array.from({ length: input.source.unitCount }, (_, i) => input.source.unitId(i));
  if (experiment.name === 'pvc5' && units[0] === 0) context.err('poglm: cluster 0 (wave_clus: spikes not assigned to a cluster) is kept as a neuron, as every cluster in the file is');
  const splits = assignSplits(binned, { kind: 'first', train: experiment.train });
  const outputs = { trainOut: join(values.out, 'train.json'), testOut: join(values.out, 'test.json'), manifest: join(values.out, 'manifest.json') };
  const hash = await hashSource(input.origin.path, context.signal);
  const lines = await writeBinned(binned, splits, outputs, { origin: input.origin, hash, timeUnit: base.timeUnit, units, base, align: 'recording' }, writeAtomically);
  if (binned.dropped > 0) lines[lines.length - 1] += `; ${binned.dropped} of ${binned.spikes} spikes after the paper's ${experiment.duration} ${base.frames ? 'frames' : 's'} left out`;
  if (values.json) {
    context.out(JSON.stringify({ experiment: experiment.name, ...outputs, train: experiment.train, test: binned.sequences - experiment.train, bins: binned.bins, neurons: binned.neurons }));
    return;
  }
  for (const line of lines) context.out(line);
  context.out(`wrote ${outputs.manifest}`);
  if (!values.prepare) await fitAsThePaper(experiment, context, values, outputs);
}

/** The paper's grid on the prepared data, with its settings, and the H-sweep figure of held-out likelihoods. */
async function fitAsThePaper(experiment: Experiment, context: CliContext, values: PaperValues, files: { trainOut: string; testOut: string }): Promise<void> {
  const train = readCounts(files.trainOut, 'train', '--out');
  const test = readCounts(files.testOut, 'test', '--out');
  const folder = join(values.out, 'grid');
  const { grid } = experiment;
  const spec = {
    seeds: values.seeds,
    schemes: values.schemes,
    methods: values.methods,
    hidden: grid.hidden,
    epochs: values.epochs,
    batchSize: grid.batchSize,
    samples: grid.samples,
    evalSamples: values.evalMc,
    basis: exponentialBasis(grid.basisWindow),
  };
  const datasets = [{ name: `paper ${experiment.name}`, train: train.visible, test: test.visible }];
  await runAndWriteGrid(context, datasets, spec, {
    out: folder,
    progress: values.progress,
    json: values.json,
    checkpointEvery: values.checkpointEvery,
    resume: values.checkpoint?.resume as GridCheckpoint | undefined,
    fileName: () => experiment.name,
  });
  const summary = readFileSync(join(folder, 'summary.csv'), 'utf8');
  const figure = join(values.out, 'sweep.svg');
  const points = sweepPoints(parseSweepCsv(summary, join(folder, 'summary.csv')), 'testMarginalLogLikelihood');
  writeAtomically(figure, await renderSvg(sweepSpec(points, 'testMarginalLogLikelihood')));
  context.out(`wrote ${figure}`);
}

/** `poglm paper rgc` and `poglm paper pvc5`. */
export function registerPaperCommand(program: Command): void {
  const paper = program.command('paper').description("the paper's real-data experiments: the preprocessing of its RGC and PVC-5 recordings");
  for (const experiment of Object.values(EXPERIMENTS)) {
    paper
      .command(experiment.name)
      .description(
        `${experiment.description}: bins it as the paper does into DIR/train.json and DIR/test.json ([sequence][bin][neuron], neurons in the file's order) ` +
          "and DIR/manifest.json, then (unless --prepare) fits the paper's grid with its settings into DIR/grid and draws DIR/sweep.svg",
      )
      .requiredOption('--data <file>', experiment.name === 'rgc' ? 'SpTimesRGC.mat (or any file of that layout)' : 'times_*.mat of wave_clus (or any file with a cluster_class matrix)')
      .option('--variable <name>', 'the variable to read (default: the only one of the layout)')
      .option('--prepare', 'stop after writing the train and test counts and the manifest')
      .option('--seeds <list>', 'seeds of the fits', '0')
      .option('--schemes <list>', 'F,FS,FB or all', 'all')
      .option('--methods <list>', 'method names or all', 'all')
      .option('--epochs <n>', 'epochs per fit (the paper: 20)', '20')
      .option('--eval-mc <m>', 'samples per test sequence in evaluation (the paper: 2000)', '2000')
      .option('--checkpoint-every <n>', 'epochs between checkpoints of the grid', '1')
      .option('--resume', 'continue the grid in DIR/grid from its checkpoint')
      .option('--progress', 'show progress even when stderr is not a terminal')
      .requiredOption('--out <dir>', 'the folder to write into')
      .option('--json', 'print a JSON summary instead of text')
      .action(commandAction(paperInputs(), (context, values) => prepare(experiment, context, values)));
  }
}
