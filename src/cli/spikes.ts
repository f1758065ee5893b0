// Spike times to counts: the CSV reader and the binning of `poglm bin`.
import { UsageError } from './files.js';

/** Parses spike times: CSV rows "neuron,time" (time in seconds); a header row and blank lines are allowed. */
export function parseSpikeTimes(text: string, source: string): { neuron: number; time: number }[] {
  const spikes: { neuron: number; time: number }[] = [];
  let firstRow = true;
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(',').map((field) => field.trim());
    // The first row that is not blank or a comment may be a header ("neuron,time").
    const header = firstRow && fields.some((field) => Number.isNaN(Number(field)));
    firstRow = false;
    if (header) return;
    if (fields.length !== 2) throw new UsageError(`${source}:${index + 1}: expected "neuron,time", got "${trimmed}"`);
    const neuron = Number(fields[0]);
    const time = Number(fields[1]);
    if (!Number.isInteger(neuron) || neuron < 0) throw new UsageError(`${source}:${index + 1}: neuron "${fields[0]}" must be a non-negative integer index`);
    if (!Number.isFinite(time) || time < 0) throw new UsageError(`${source}:${index + 1}: time "${fields[1]}" must be a non-negative number of seconds`);
    spikes.push({ neuron, time });
  });
  return spikes;
}

/**
 * Bins spike times into counts [sequence][bin][neuron]: bins of `binWidth` seconds from 0 to `duration` (default:
 * the last spike), cut into sequences of `sequenceBins` bins (default: one sequence; a partial last sequence is dropped).
 */
export function binSpikeTimes(
  spikes: { neuron: number; time: number }[],
  options: { binWidth: number; neurons?: number; duration?: number; sequenceBins?: number },
): number[][][] {
  const { binWidth } = options;
  if (!(binWidth > 0) || !Number.isFinite(binWidth)) throw new UsageError(`--bin-width must be a positive number of seconds, got ${binWidth}`);
  // Loops, not Math.max(...spikes): a spread of a real recording's spikes overflows the call stack.
  const neurons = options.neurons ?? spikes.reduce((most, spike) => Math.max(most, spike.neuron), -1) + 1;
  if (neurons < 1) throw new UsageError('no spikes and no --neurons: nothing to bin');
  const tooHigh = spikes.find((spike) => spike.neuron >= neurons);
  if (tooHigh) throw new UsageError(`a spike of neuron ${tooHigh.neuron} was found but --neurons is ${neurons}`);
  const duration = options.duration ?? spikes.reduce((last, spike) => Math.max(last, spike.time), 0) + binWidth * 1e-9;
  const bins = Math.ceil(duration / binWidth - 1e-9);
  if (bins < 1) throw new UsageError('the recording is shorter than one bin');
  const counts = Array.from({ length: bins }, () => new Array<number>(neurons).fill(0));
  for (const spike of spikes) {
    const bin = Math.floor(spike.time / binWidth + 1e-9);
    if (bin < bins) counts[bin][spike.neuron]++;
  }
  const length = options.sequenceBins ?? bins;
  if (!Number.isInteger(length) || length < 1) throw new UsageError(`--sequence-bins must be a positive integer, got ${length}`);
  const sequences = Math.floor(bins / length);
  if (sequences < 1) throw new UsageError(`the recording has ${bins} bins, fewer than one sequence of ${length}`);
  return Array.from({ length: sequences }, (_, s) => counts.slice(s * length, (s + 1) * length));
}
