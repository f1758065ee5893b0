// The posterior of the hidden neurons, what a POGLM is fitted for: for a fitted model and visible counts, q's mean of
// every hidden neuron in every bin and, if asked, samples of the hidden spikes, with q switched to Poisson as
// evaluation does (the means are Poisson rates, the samples counts). For F and FB the mean depends on the data alone;
// for FS it follows each sample's history, and the means returned are averages over the samples.
import { checkBasis, uploadDataset } from '../engine/dataset.js';
import { inferPosteriorGroup } from '../engine/posterior.js';
import { withSession, type GpuSession } from '../engine/session.js';
import { DataError, validateCounts } from '../model/data.js';
import { flattenModel, type PoglmModelJson } from '../model/json.js';
import { CountReader, type SpikeCounts } from './counts.js';

export interface InferOptions {
  session?: GpuSession;
  /** Monte Carlo samples the FS means average over; default 100. */
  samples?: number;
  /** How many samples (the first ones) to return; default 0. */
  keepSamples?: number;
  /** The noise stream (sample m of sequence s draws Philox (seed, evaluate, step 0, m, s)); default 0. */
  seed?: number;
  /** Checked before every submission: when aborted, the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Bytes the largest buffer of the job may take; default the device's binding limit. */
  maxJobBytes?: number;
}

export interface HiddenPosterior {
  /** means[sequence][bin][hidden] */
  means: number[][][];
  /** samples[sequence][sample][bin][hidden], when keepSamples > 0 */
  samples?: number[][][][];
}

/** The same results as flat row-major arrays, for writers that should not build nested arrays (src/cli/infer.ts). */
export interface HiddenPosteriorArrays {
  /** [sequence][bin][hidden] */
  means: Float64Array;
  /** [sequence][kept sample][bin][hidden], when keepSamples > 0 */
  samples?: Float32Array;
  sequences: number;
  bins: number;
  hidden: number;
  keptSamples: number;
}

interface CheckedRequest {
  samples: number;
  keepSamples: number;
  seed: number;
  sequences: number;
  bins: number;
}

function integerOption(name: string, value: number, min: number, max: number, fix: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}: ${fix}`);
  return value;
}

/** Every input checked before any GPU work, each error naming what is wrong and the fix. */
function checkRequest(model: PoglmModelJson, data: number[][][], options: InferOptions): CheckedRequest {
  if (model.hidden < 1) throw new DataError('the model has no hidden neurons: there is nothing to infer');
  if (!model.variational) throw new DataError('the model has no variational part: infer with a fitted model (as fit writes it), not a bare generative one');
  const shape = validateCounts('data', data, { neurons: model.visible });
  checkBasis(model.basis, shape.bins);
  const samples = integerOption('samples', options.samples ?? 100, 1, 2 ** 31, 'give a positive number of samples');
  const keepSamples = integerOption('keepSamples', options.keepSamples ?? 0, 0, samples, 'keep at most as many samples as are drawn');
  const seed = integerOption('seed', options.seed ?? 0, 0, 2 ** 32 - 1, 'the seed is a 32-bit key');
  return { samples, keepSamples, seed, sequences: shape.sequences, bins: shape.bins };
}

/** The posterior as flat arrays; see inferHidden. */
export async function inferHiddenArrays(model: PoglmModelJson, counts: SpikeCounts, options: InferOptions = {}): Promise<HiddenPosteriorArrays> {
  const data = await new CountReader(options.session).nested('data', counts);
  const request = checkRequest(model, data, options);
  const flat = flattenModel(model);
  return withSession(options.session, async (session) => {
    options.signal?.throwIfAborted();
    const dataset = await uploadDataset(session, [data], flat.basis, 'data', { visible: model.visible }, { maxShardBytes: options.maxJobBytes, antiCausal: flat.layout.scheme === 'FB' });
    try {
      const outcome = await inferPosteriorGroup(session, dataset, {
        layout: flat.layout,
        basis: flat.basis,
        members: [{ params: flat.params, seed: request.seed, firstRow: 0 }],
        sequences: request.sequences,
        samples: request.samples,
        keepSamples: request.keepSamples,
        maxChunkBytes: options.maxJobBytes,
        signal: options.signal,
      });
      return {
        means: outcome.means[0],
        ...(request.keepSamples > 0 ? { samples: outcome.samples[0] } : {}),
        sequences: request.sequences,
        bins: request.bins,
        hidden: model.hidden,
        keptSamples: request.keepSamples,
      };
    } finally {
      dataset.release();
    }
  });
}

/** A flat row-major array as nested arrays of `shape` (outermost first). */
function nest(values: ArrayLike<number>, shape: number[]): unknown[] {
  const build = (depth: number, start: number): unknown[] => {
    const stride = shape.slice(depth + 1).reduce((product, extent) => product * extent, 1);
    return Array.from({ length: shape[depth] }, (_, i) => (depth === shape.length - 1 ? values[start + i] : build(depth + 1, start + i * stride)));
  };
  return build(0, 0);
}

/**
 * The posterior of the hidden neurons of `model` given visible counts data[sequence][bin][visible]: q's mean of every
 * hidden neuron per bin, and with `keepSamples` that many samples of the hidden spikes per sequence. The counts may also
 * be a typed array with its shape, or a GPUBuffer of the session's device (src/api/counts.ts).
 */
export async function inferHidden(model: PoglmModelJson, data: SpikeCounts, options: InferOptions = {}): Promise<HiddenPosterior> {
  const arrays = await inferHiddenArrays(model, data, options);
  const { sequences, bins, hidden } = arrays;
  const result: HiddenPosterior = { means: nest(arrays.means, [sequences, bins, hidden]) as number[][][] };
  if (arrays.samples) result.samples = nest(arrays.samples, [sequences, arrays.keptSamples, bins, hidden]) as number[][][][];
  return result;
}
