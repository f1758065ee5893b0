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
// Without --prepare the command would go on to run the paper's grid of fits; that is not built here yet.
import type { Command } from 'commander';
import { UsageError } from './files.js';
import { flagInput, optional, outputFolderInput, readInput, type Input, type InputValues } from './inputs.js';
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
    base: { timeUnit: 'ms', frames: false, timeScale: 1000, perSecond: 1, binWidth: PVC5_SECONDS / 45000 },
    duration: PVC5_SECONDS,
    sequenceBins: 100,
    train: 225,
    // numpy.histogram's last bin is [edge, 900]: a spike at 900 s exactly is in it.
    closedEnd: (time) => time === PVC5_SECONDS,
  },
};

const prepareInput = (experiment: Experiment): Input<boolean> => ({
  flag: '--prepare',
  read: (raw) => {
    if (raw === undefined || raw === 'false') {
      throw new UsageError(
        `poglm paper ${experiment.name} runs the paper's preprocessing only, for now: add --prepare to write DIR/train.json, DIR/test.json and DIR/manifest.json, then fit them with poglm grid --train DIR/train.json --test DIR/test.json`,
      );
    }
    return true;
  },
});

function paperInputs(experiment: Experiment) {
  return {
    flags: {
      data: readInput('--data', (path) => path),
      variable: optional({ flag: '--variable', read: (raw: string | undefined) => raw } as Input<string | undefined>),
      prepare: prepareInput(experiment),
      out: outputFolderInput('--out'),
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
}

/** `poglm paper rgc` and `poglm paper pvc5`. */
export function registerPaperCommand(program: Command): void {
  const paper = program.command('paper').description("the paper's real-data experiments: the preprocessing of its RGC and PVC-5 recordings");
  for (const experiment of Object.values(EXPERIMENTS)) {
    paper
      .command(experiment.name)
      .description(`${experiment.description}: --prepare bins it as the paper does into DIR/train.json and DIR/test.json ([sequence][bin][neuron], neurons in the file's order) and DIR/manifest.json`)
      .requiredOption('--data <file>', experiment.name === 'rgc' ? 'SpTimesRGC.mat (or any file of that layout)' : 'times_*.mat of wave_clus (or any file with a cluster_class matrix)')
      .option('--variable <name>', 'the variable to read (default: the only one of the layout)')
      .option('--prepare', 'write the train and test counts and the manifest (what this command does for now)')
      .requiredOption('--out <dir>', 'the folder to write into')
      .option('--json', 'print a JSON summary instead of text')
      .action(commandAction(paperInputs(experiment), (context, values) => prepare(experiment, context, values)));
  }
}
