// One-line descriptions of counts for the commands' reports.
import type { CountsArray } from './counts-json.js';

/** "S sequences x T bins x N neurons; mean count per bin by neuron: ..." */
export function describeCounts(counts: number[][][]): string {
  const bins = counts[0].length;
  const neurons = counts[0][0].length;
  const totals = new Array<number>(neurons).fill(0);
  for (const sequence of counts) for (const bin of sequence) bin.forEach((count, n) => (totals[n] += count));
  const rates = totals.map((total) => (total / (counts.length * bins)).toFixed(3));
  return `${counts.length} sequences x ${bins} bins x ${neurons} neurons; mean count per bin by neuron: ${rates.join(' ')}`;
}

/** Neurons whose rates a description lists; more would not fit one line. */
const LISTED_NEURONS = 16;

/** The same description for counts held in one flat array [sequence][bin][neuron]. */
export function describeCountsArray({ counts, sequences, bins, neurons }: CountsArray): string {
  const totals = new Float64Array(neurons);
  for (let cell = 0; cell < counts.length; cell++) totals[cell % neurons] += counts[cell];
  const listed = Array.from(totals.subarray(0, LISTED_NEURONS), (total) => (total / (sequences * bins)).toFixed(3));
  const more = neurons > LISTED_NEURONS ? ` ... (${neurons - LISTED_NEURONS} more)` : '';
  return `${sequences} sequences x ${bins} bins x ${neurons} neurons; mean count per bin by neuron: ${listed.join(' ')}${more}`;
}
