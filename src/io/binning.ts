// Spike times to counts [sequence][bin][neuron], for any reader: the reader gives a SpikeSource (its units, its
// extent, and a pass over its spikes), and binSpikes sizes the counts from the plan, checks the size before
// allocating, and counts in one pass. Bins are half-open on float64 edges (src/io/bin-edges.ts). Sequences are cut
// from the recording (bins k*w, sequence s the bins [s T, (s+1) T)) or start at each trial (bins start + k*w).
// Memory is the counts alone: the pass visits spikes one at a time (src/cli/spikes.ts streams a CSV file twice).
import { DataError } from '../model/data.js';
import { binIndex, binIndexFrom, binsBefore, binsWithin } from './bin-edges.js';
import { describeIds, printable, type SpikeTimes, type Trial, type UnitId } from './spike-data.js';

/** What binning needs of a spike file: its units and extent (known before counting), and a pass over its spikes. */
export interface SpikeSource {
  /** How messages name the file ("spikes.csv", "--spikes file rec.nwb"). */
  where: string;
  /** Units in the file's order. */
  unitCount: number;
  unitId(index: number): UnitId;
  /** The index of the unit whose id is written `token`, or -1. */
  findUnit(token: string): number;
  spikes: number;
  /** The last spike time in the file's unit (-1 without spikes), and where it is: "at spikes.csv:5", "of unit 3". */
  lastTime: number;
  lastTimeAt: string;
  /** Calls `visit` with each spike's unit index and time (in the file's unit). */
  forEachSpike(visit: (unit: number, time: number) => void): Promise<void>;
  /** How to get fewer units when the counts would be too large (CSV: about --neurons and the indices). */
  fewerUnits?(neurons: number): string;
  /** What to say of a file with no units at all, and what to give to bin a file without spikes. */
  noUnits?: string;
  noSpikesFix?: string;
}

export type SequencePlan =
  /** Sequences cut from the recording from time 0; spikes at or after `duration` (bin units) are dropped. */
  | { align: 'recording'; duration?: number; sequenceBins?: number }
  /** One sequence per trial from its start (trials in the file's unit); trials too short for sequenceBins are left out. */
  | { align: 'trials'; trials: Trial[]; sequenceBins?: number };

export interface BinPlan {
  /** Bin width in bin units: seconds, or frames when binning in frames. */
  binWidth: number;
  /** A file time divided by this is in bin units: 1, 1000 for ms binned in seconds, the frame rate for frames. */
  timeScale: number;
  /** "s" or "frames", for messages. */
  binUnit: string;
  /** How messages name the width's flag and value: "--bin-width (now 0.1 s)". */
  widthFlag?: string;
  /** The source units kept, in output order (default: all, in the file's order). */
  columns?: number[];
  sequences: SequencePlan;
  /** A spike at or after the duration for which this is true counts in the last bin (numpy.histogram's closed last edge). */
  closedEnd?: (time: number) => boolean;
  /** The most cells the counts may hold. */
  maxCells: number;
  /** The error to throw (default DataError): `poglm bin`'s CSV library function throws UsageErrors. */
  error?: (message: string) => Error;
}

export interface BinnedSequences {
  /** Counts [sequence][bin][neuron], row-major. */
  counts: Uint32Array | Float64Array;
  sequences: number;
  bins: number;
  neurons: number;
  /** Each sequence's [start, end) in bin units. */
  starts: Float64Array;
  ends: Float64Array;
  /** The trial of each sequence, when aligned to trials. */
  trialOf?: Int32Array;
  /** Trials left out because they are shorter than a sequence. */
  leftOutTrials: number[];
  /** Spikes in the file; of units not kept; at or after the duration (or in no trial's sequence); in the partial last sequence. */
  spikes: number;
  unselected: number;
  dropped: number;
  cut: number;
}

/** The source of spike times held in memory, as the NWB, MATLAB and NumPy readers return them. */
export function spikeTimesSource(data: SpikeTimes): SpikeSource {
  const indexOf = new Map(data.units.map((unit, i) => [String(unit.id), i]));
  let spikes = 0;
  let lastTime = -1;
  let lastUnit = -1;
  data.units.forEach((unit, u) => {
    spikes += unit.times.length;
    for (const time of unit.times) if (time > lastTime) [lastTime, lastUnit] = [time, u];
  });
  return {
    where: data.source,
    unitCount: data.units.length,
    unitId: (index) => data.units[index].id,
    findUnit: (token) => indexOf.get(token) ?? -1,
    spikes,
    lastTime,
    lastTimeAt: lastUnit < 0 ? '' : `(unit ${data.units[lastUnit].id})`,
    forEachSpike: async (visit) => {
      data.units.forEach((unit, u) => {
        for (const time of unit.times) visit(u, time);
      });
    },
  };
}

/** The units `tokens` names (ids as written), as indices into the source, in the given order; each at most once. */
export function resolveUnits(source: SpikeSource, tokens: string[], flag = '--units'): number[] {
  const seen = new Set<number>();
  return tokens.map((token) => {
    const index = source.findUnit(token);
    if (index < 0) throw new DataError(`${flag}: ${source.where} has no unit ${printable(token, 20)}; its units are ${describeSourceIds(source)}`);
    if (seen.has(index)) throw new DataError(`${flag} lists unit ${token} twice`);
    seen.add(index);
    return index;
  });
}

/** "0, 1, 2, ... (27 units)" without listing every id of a source that may have millions. */
function describeSourceIds(source: SpikeSource): string {
  const shown = Array.from({ length: Math.min(source.unitCount, 8) }, (_, i) => source.unitId(i));
  return source.unitCount > 8 ? `${shown.join(', ')}, ... (${source.unitCount} units)` : describeIds(shown);
}

interface Shape {
  sequences: number;
  bins: number;
  starts: Float64Array;
  ends: Float64Array;
  trialOf?: Int32Array;
  leftOutTrials: number[];
  /** Recording: all bins to the duration or last spike, of which sequences * bins are kept. */
  recordingBins?: number;
}

function sizeError(source: SpikeSource, plan: BinPlan, neurons: number, bins: number, extent: string): Error {
  const fewer = plan.columns ? `keep fewer units with --units (now ${neurons})` : (source.fewerUnits?.(neurons) ?? `keep fewer units with --units (the file has ${neurons})`);
  const width = plan.widthFlag ?? `--bin-width (now ${plan.binWidth} ${plan.binUnit})`;
  const cut = plan.sequences.align === 'trials' ? 'lower --sequence-bins' : `shorten --duration (now ${extent})`;
  return (plan.error ?? ((message: string) => new DataError(message)))(
    `${source.where}: the counts would be ${neurons} neurons x ${bins} bins = ${neurons * bins} cells, more than the ${plan.maxCells} a counts file can hold: widen ${width}, ${cut} or ${fewer}`,
  );
}

function recordingShape(source: SpikeSource, plan: BinPlan, neurons: number, sequencePlan: { duration?: number; sequenceBins?: number }): Shape {
  const fail = plan.error ?? ((message: string) => new DataError(message));
  const { binWidth, binUnit } = plan;
  const { duration } = sequencePlan;
  if (source.spikes === 0 && duration === undefined) throw fail(`${source.where} holds no spikes: give ${source.noSpikesFix ?? '--duration'} to write counts of zeros`);
  const lastTime = source.lastTime / plan.timeScale;
  const extent = duration === undefined ? `to the last spike, ${lastTime} ${binUnit} ${source.lastTimeAt}` : `${duration} s`;
  // Without --duration the last bin is the one that holds the last spike, so that every spike is counted.
  const all = duration === undefined ? binIndex(lastTime, binWidth) + 1 : binsBefore(duration, binWidth);
  // The size is checked first on all bins: a bin count too large to be exact (or infinite) must not reach the
  // arithmetic of sequences below.
  if (!(all * neurons <= plan.maxCells)) throw sizeError(source, plan, neurons, all, extent);
  const bins = sequencePlan.sequenceBins ?? all;
  if (bins > all) {
    throw fail(`${source.where}: the recording has ${all} bins of ${binWidth} ${binUnit} (${extent}), fewer than one sequence of --sequence-bins ${bins}: lower --sequence-bins or --bin-width`);
  }
  const sequences = Math.floor(all / bins);
  const starts = Float64Array.from({ length: sequences }, (_, s) => s * bins * binWidth);
  const ends = Float64Array.from({ length: sequences }, (_, s) => (s + 1) * bins * binWidth);
  return { sequences, bins, starts, ends, leftOutTrials: [], recordingBins: all };
}

function trialShape(source: SpikeSource, plan: BinPlan, neurons: number, trials: Trial[], sequenceBins: number | undefined): Shape {
  const fail = plan.error ?? ((message: string) => new DataError(message));
  if (trials.length === 0) throw fail(`${source.where} holds no trials: leave out --align trials`);
  const { binWidth, binUnit, timeScale } = plan;
  const starts = trials.map((trial) => trial.start / timeScale);
  const fits = trials.map((trial, i) => binsWithin(starts[i], trial.stop / timeScale, binWidth));
  const longest = fits.reduce((most, fit) => Math.max(most, fit), 0);
  const fewest = fits.reduce((least, fit) => Math.min(least, fit), Infinity);
  const bins = sequenceBins ?? fewest;
  if (!(bins >= 1)) {
    const shortest = fits.indexOf(fewest);
    throw fail(`${source.where}: trial ${shortest} is shorter than one bin of ${binWidth} ${binUnit}: give --sequence-bins to leave out the shorter trials, or narrow --bin-width`);
  }
  const kept = fits.flatMap((fit, i) => (fit >= bins ? [i] : []));
  if (kept.length === 0) throw fail(`${source.where}: no trial holds --sequence-bins ${bins} bins of ${binWidth} ${binUnit} (the longest holds ${longest}): lower --sequence-bins`);
  if (!(kept.length * bins * neurons <= plan.maxCells)) throw sizeError(source, plan, neurons, kept.length * bins, '');
  return {
    sequences: kept.length,
    bins,
    starts: Float64Array.from(kept, (i) => starts[i]),
    ends: Float64Array.from(kept, (i) => starts[i] + bins * binWidth),
    trialOf: Int32Array.from(kept),
    leftOutTrials: fits.flatMap((fit, i) => (fit < bins ? [i] : [])),
  };
}

/** Output column of each source unit: a typed array when the units are few enough, else a map of the kept ones. */
function columnLookup(source: SpikeSource, columns: number[] | undefined): (unit: number) => number {
  if (!columns) return (unit) => unit;
  if (source.unitCount <= 1 << 24) {
    const table = new Int32Array(source.unitCount).fill(-1);
    columns.forEach((unit, column) => (table[unit] = column));
    return (unit) => table[unit];
  }
  const map = new Map(columns.map((unit, column) => [unit, column]));
  return (unit) => map.get(unit) ?? -1;
}

/** Counts the spikes of `source` as `plan` says; the size is checked before anything is allocated. */
export async function binSpikes(source: SpikeSource, plan: BinPlan): Promise<BinnedSequences> {
  const fail = plan.error ?? ((message: string) => new DataError(message));
  const neurons = plan.columns ? plan.columns.length : source.unitCount;
  if (neurons === 0) throw fail(source.noUnits ?? `${source.where} holds no units: nothing to bin`);
  const sequencePlan = plan.sequences;
  const shape = sequencePlan.align === 'trials' ? trialShape(source, plan, neurons, sequencePlan.trials, sequencePlan.sequenceBins) : recordingShape(source, plan, neurons, sequencePlan);
  const cells = shape.sequences * shape.bins * neurons;
  // Counts up to 2^32 - 1 fit 32 bits; only a file of more spikes than that needs doubles.
  const counts = source.spikes <= 0xffffffff ? new Uint32Array(cells) : new Float64Array(cells);
  const tally = { spikes: 0, unselected: 0, dropped: 0, cut: 0 };
  const columnOf = columnLookup(source, plan.columns);
  const count = sequencePlan.align === 'trials' ? trialCounter(shape, plan, neurons, counts, tally) : recordingCounter(shape, plan, neurons, counts, tally, sequencePlan.duration);
  await source.forEachSpike((unit, time) => {
    tally.spikes++;
    const column = columnOf(unit);
    if (column < 0) tally.unselected++;
    else count(column, time / plan.timeScale);
  });
  const { recordingBins: _all, ...layout } = shape;
  return { counts, neurons, ...layout, ...tally };
}

type Tally = { dropped: number; cut: number };

function recordingCounter(shape: Shape, plan: BinPlan, neurons: number, counts: Uint32Array | Float64Array, tally: Tally, duration: number | undefined) {
  const { binWidth, closedEnd } = plan;
  const kept = shape.sequences * shape.bins;
  const lastBinKept = kept === shape.recordingBins;
  return (column: number, time: number): void => {
    if (duration !== undefined && time >= duration) {
      if (closedEnd?.(time) && lastBinKept) counts[(kept - 1) * neurons + column]++;
      else tally.dropped++;
      return;
    }
    const bin = binIndex(time, binWidth);
    if (bin >= kept) tally.cut++;
    else counts[bin * neurons + column]++;
  };
}

function trialCounter(shape: Shape, plan: BinPlan, neurons: number, counts: Uint32Array | Float64Array, tally: Tally) {
  const { binWidth } = plan;
  const { bins, starts } = shape;
  // Sequences by start, so that those holding a time are found by a binary search and a short walk back: a spike
  // in overlapping trials counts in each.
  const order = Array.from(starts.keys()).sort((a, b) => starts[a] - starts[b]);
  const sortedStarts = Float64Array.from(order, (s) => starts[s]);
  return (column: number, time: number): void => {
    let low = 0;
    let high = sortedStarts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sortedStarts[middle] <= time) low = middle + 1;
      else high = middle;
    }
    let hits = 0;
    for (let j = low - 1; j >= 0; j--) {
      const bin = binIndexFrom(time, sortedStarts[j], binWidth);
      // Earlier starts only put the time further from them: once past the end of one sequence, past all.
      if (bin >= bins) break;
      counts[(order[j] * bins + bin) * neurons + column]++;
      hits++;
    }
    if (hits === 0) tally.dropped++;
  };
}
