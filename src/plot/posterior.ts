// The inference JSON a raster plot reads, as `poglm infer` writes it: {"means": [sequence][bin][hidden], "samples"?:
// ...}, the posterior mean of each hidden neuron's spikes in each bin. Checked here, with messages that name the file
// and the element, before anything is drawn; fields other than "means" are not read.
import { DataError, describeValue, finiteMatrixProblem } from '../model/data.js';

export interface Posterior {
  means: number[][][];
}

const SHAPE = '{"means": [sequence][bin][hidden]} of finite numbers';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The posterior means of a parsed inference JSON: every sequence a bins x H matrix, H >= 1 and the same in all. */
export function checkPosterior(json: unknown, source: string): Posterior {
  if (!isObject(json)) throw new DataError(`${source} must be an inference JSON ${SHAPE}, but it holds ${describeValue(json)}`);
  const means = json.means;
  if (!Array.isArray(means) || means.length === 0) throw new DataError(`${source}: "means" must be a non-empty array [sequence][bin][hidden], but it is ${describeValue(means)}`);
  const first = Array.isArray(means[0]) ? (means[0] as unknown[])[0] : undefined;
  if (!Array.isArray(first) || first.length === 0) throw new DataError(`${source}: means[0][0] must be the means of the hidden neurons in bin 0 (at least one), but it is ${describeValue(first)}`);
  const hidden = first.length;
  means.forEach((sequence, s) => {
    const bins = Array.isArray(sequence) ? sequence.length : 0;
    const problem = finiteMatrixProblem(`${source}: means[${s}]`, sequence, Math.max(bins, 1), hidden);
    if (problem) throw new DataError(`${problem.message} (${hidden} hidden neurons, as in means[0][0])`);
  });
  return { means: means as number[][][] };
}

/** The posterior is of these counts: the same sequences and, in each, the same bins. */
export function checkPosteriorMatchesCounts(posterior: Posterior, counts: number[][][], names: { posterior: string; counts: string }): void {
  if (posterior.means.length !== counts.length) {
    throw new DataError(`${names.posterior} has ${posterior.means.length} sequences but ${names.counts} has ${counts.length}: give the inference of these counts`);
  }
  posterior.means.forEach((sequence, s) => {
    if (sequence.length !== counts[s].length) {
      throw new DataError(`${names.posterior}: sequence ${s} has ${sequence.length} bins but in ${names.counts} it has ${counts[s].length}: give the inference of these counts`);
    }
  });
}

/** The hidden neurons the posterior is over. */
export const posteriorHidden = (posterior: Posterior): number => posterior.means[0][0].length;
