// Counts read as they are stored (a NumPy [sequence][bin][neuron] or [bin][neuron] array) into the same sequences
// binning gives: neurons kept by index in the given order, and a [bin][neuron] array cut into sequences of
// --sequence-bins (the partial last one dropped). A [sequence][bin][neuron] array keeps its sequences.
import { DataError } from '../model/data.js';
import type { BinnedSequences, SpikeSource } from './binning.js';
import type { SpikeCountArray } from './spike-data.js';

/** The array's neurons as units 0 to N-1, so that --units resolves against it as against spike times. */
export function countArrayUnits(data: SpikeCountArray): SpikeSource {
  return {
    where: data.source,
    unitCount: data.neurons,
    unitId: (index) => index,
    findUnit: (token) => (/^\d+$/.test(token) && Number(token) < data.neurons ? Number(token) : -1),
    spikes: 0,
    lastTime: -1,
    lastTimeAt: '',
    forEachSpike: async () => {
      throw new DataError(`${data.source} holds counts, not spike times`);
    },
  };
}

/**
 * The sequences of a counts array. `binWidth` (seconds, when known) places them in time; without it their starts and
 * ends are bin numbers.
 */
export function countArraySequences(data: SpikeCountArray, columns: number[] | undefined, sequenceBins: number | undefined, binWidth: number | undefined): BinnedSequences {
  const kept = columns ?? Array.from({ length: data.neurons }, (_, i) => i);
  if (data.sequenced && sequenceBins !== undefined && sequenceBins !== data.bins) {
    throw new DataError(`${data.source} holds ${data.sequences} sequences of ${data.bins} bins: --sequence-bins ${sequenceBins} would cut them; leave it out`);
  }
  const bins = sequenceBins ?? data.bins;
  if (bins > data.bins) throw new DataError(`${data.source} holds ${data.bins} bins, fewer than one sequence of --sequence-bins ${bins}: lower --sequence-bins`);
  const sequences = data.sequenced ? data.sequences : Math.floor(data.bins / bins);
  const neurons = kept.length;
  const counts = new Uint32Array(sequences * bins * neurons);
  let cut = 0;
  let spikes = 0;
  const totalBins = data.sequences * data.bins;
  for (let bin = 0; bin < totalBins; bin++) {
    const row = bin * data.neurons;
    for (let n = 0; n < data.neurons; n++) spikes += data.counts[row + n];
    if (bin >= sequences * bins) {
      for (const unit of kept) cut += data.counts[row + unit];
      continue;
    }
    kept.forEach((unit, column) => (counts[bin * neurons + column] = data.counts[row + unit]));
  }
  const scale = binWidth ?? 1;
  let keptSpikes = 0;
  for (const count of counts) keptSpikes += count;
  return {
    counts,
    sequences,
    bins,
    neurons,
    starts: Float64Array.from({ length: sequences }, (_, s) => s * bins * scale),
    ends: Float64Array.from({ length: sequences }, (_, s) => (s + 1) * bins * scale),
    leftOutTrials: [],
    spikes,
    unselected: spikes - keptSpikes - cut,
    dropped: 0,
    cut,
  };
}
