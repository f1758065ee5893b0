// The page's data: the paper's synthetic set (simulated on the worker's GPU), or a dropped file read by the same
// readers and checks as the CLI: counts JSON as `poglm synth`, `poglm bin` and `poglm simulate` write them
// (src/io/data-text.ts), and spike files of every format `poglm bin` reads (src/io/spike-bytes.ts), binned as it bins
// them (src/io/binning.ts: half-open bins from time 0, cut into sequences, a partial last sequence dropped).
import { binSpikes, spikeTimesSource, type BinnedSequences } from '../../src/io/binning.js';
import { countArraySequences } from '../../src/io/count-arrays.js';
import { parseCountsText } from '../../src/io/data-text.js';
import { readSpikeBytes } from '../../src/io/spike-bytes.js';
import type { TimeUnit } from '../../src/io/spike-data.js';
import { DataError } from '../../src/model/data.js';
import type { GenerativeParams } from '../../src/model/types.js';
import type { FitWorker } from '../../src/worker/client.js';

export interface LoadedData {
  /** Where the counts came from, for the status line and the legend. */
  name: string;
  /** Visible counts [sequence][bin][neuron]. */
  visible: number[][][];
  /** True hidden counts [sequence][bin][hidden], when known (a synthetic set). */
  hidden?: number[][][];
  /** True generative parameters of all neurons, visible first, when known. */
  truth?: GenerativeParams;
  /** What the readers chose or left out, to tell the visitor. */
  notes: string[];
}

/** How spike times become counts. */
export interface Binning {
  /** Bin width in seconds. */
  binWidth: number;
  /** Bins per sequence. */
  sequenceBins: number;
}

/**
 * Counts the page fits: about 4 million cells as nested arrays are a few hundred MB of a tab's memory; larger data
 * is for the CLI (`poglm bin`, then `poglm fit`).
 */
const MAX_PAGE_CELLS = 2 ** 22;

const TIME_SCALE: Record<TimeUnit, number> = { s: 1, ms: 1000, us: 1e6, frames: NaN };

/** The paper's synthetic set of `trial`: its first `sequences` training sequences, with the truth. */
export async function syntheticData(worker: FitWorker, trial: number, sequences: number): Promise<LoadedData> {
  const set = await worker.syntheticDataset(trial, { sequences: sequences + 20, trainSequences: sequences });
  return {
    name: `synthetic trial ${trial}`,
    visible: set.train.visible,
    hidden: set.train.hidden,
    truth: set.truth.generative,
    notes: [`${set.visible} visible and ${set.hidden} hidden neurons simulated; the fit sees only the visible ones`],
  };
}

/** Whether the bytes are JSON text (counts written by the CLI) rather than a spike file. */
function isJson(bytes: Uint8Array, name: string): boolean {
  if (/\.json$/i.test(name)) return true;
  const first = bytes.find((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0xef && byte !== 0xbb && byte !== 0xbf);
  return first === 0x5b /* [ */ || first === 0x7b /* { */;
}

/** Flat counts [sequence][bin][neuron] as nested arrays. */
function nest(binned: Pick<BinnedSequences, 'counts' | 'sequences' | 'bins' | 'neurons'>): number[][][] {
  const { counts, sequences, bins, neurons } = binned;
  return Array.from({ length: sequences }, (_, s) =>
    Array.from({ length: bins }, (_, t) => Array.from(counts.subarray((s * bins + t) * neurons, (s * bins + t + 1) * neurons))),
  );
}

function checkSize(binned: BinnedSequences, name: string): void {
  const cells = binned.sequences * binned.bins * binned.neurons;
  if (cells > MAX_PAGE_CELLS) {
    throw new DataError(`${name} bins to ${binned.sequences} x ${binned.bins} x ${binned.neurons} = ${cells} counts, more than the ${MAX_PAGE_CELLS} this page fits: widen the bin width, or bin and fit it with the CLI (poglm bin, poglm fit)`);
  }
  if (binned.sequences === 0) throw new DataError(`${name} holds no whole sequence of ${binned.bins} bins: lower the bins per sequence or the bin width`);
}

/** The counts in a dropped file: counts JSON as they are, spike times binned with `binning`. */
export async function fileData(bytes: Uint8Array, name: string, binning: Binning): Promise<LoadedData> {
  if (isJson(bytes, name)) {
    const file = parseCountsText(bytes, name, 'train', 'the file');
    return { name, visible: file.visible, hidden: file.hidden, truth: file.truth, notes: file.hidden ? ['a `poglm synth` dataset: its train part, with its true hidden spikes and parameters'] : [] };
  }
  if (!(binning.binWidth > 0 && Number.isFinite(binning.binWidth))) throw new DataError(`the bin width must be a positive number of seconds, got ${binning.binWidth}`);
  if (!(Number.isInteger(binning.sequenceBins) && binning.sequenceBins >= 1)) throw new DataError(`the bins per sequence must be a positive integer, got ${binning.sequenceBins}`);
  const read = await readSpikeBytes(bytes, name);
  const notes = read.kind === 'csv' ? [] : [...read.notes];
  let binned: BinnedSequences;
  if (read.kind === 'counts') {
    binned = countArraySequences(read, undefined, read.sequenced ? undefined : binning.sequenceBins, binning.binWidth);
    notes.push(`${read.container} holds counts already binned: the bin width is not used`);
  } else {
    const source = read.kind === 'csv' ? read.source : spikeTimesSource(read);
    const timeUnit = read.kind === 'csv' ? 's' : (read.timeUnit ?? 's');
    if (timeUnit === 'frames') throw new DataError(`${name} holds times in stimulus frames: bin it with poglm bin --time-unit frames --frame-rate HZ, and drop the counts JSON it writes here`);
    if (read.kind === 'times' && read.trials) notes.push(`${name} has ${read.trials.length} trials; the page cuts sequences from the whole recording (poglm bin --align trials cuts them per trial)`);
    if (timeUnit !== 's') notes.push(`times read in ${timeUnit}, as the file's layout keeps them`);
    binned = await binSpikes(source, {
      binWidth: binning.binWidth,
      timeScale: TIME_SCALE[timeUnit],
      binUnit: 's',
      widthFlag: `the bin width (now ${binning.binWidth} s)`,
      sequences: { align: 'recording', sequenceBins: binning.sequenceBins },
      maxCells: MAX_PAGE_CELLS,
    });
    if (binned.cut > 0) notes.push(`${binned.cut} spikes in the partial last sequence left out`);
  }
  checkSize(binned, name);
  return { name, visible: nest(binned), notes };
}

/** "40 sequences x 100 bins x 3 neurons, 1,234 spikes". */
export function describeData(data: LoadedData): string {
  const spikes = data.visible.reduce((sum, sequence) => sequence.reduce((total, bin) => bin.reduce((a, b) => a + b, total), sum), 0);
  const [sequences, bins, neurons] = [data.visible.length, data.visible[0]?.length ?? 0, data.visible[0]?.[0]?.length ?? 0];
  return `${sequences} sequences × ${bins} bins × ${neurons} neurons, ${spikes.toLocaleString('en')} spikes`;
}
