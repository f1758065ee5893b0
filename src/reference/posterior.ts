// Float64 twin of the posterior of the hidden neurons (src/engine/posterior.ts): q switched to Poisson, run forward
// from the Philox noise the GPU draws for (seed, evaluate, step 0, sample m, sequence s); the means averaged over the
// samples (they differ only for FS, whose q reads each sample's own history) and the samples' hidden counts.
import type { ParamLayout } from '../model/params.js';
import { NoisePurpose } from '../model/philox.js';
import { resolveMethod } from '../model/types.js';
import { traceSample } from './model.js';
import { baseNoiseArray } from './noise.js';

export interface ReferencePosterior {
  /** means[s][t][h]: mean over the samples of q's Poisson mean. */
  means: number[][][];
  /** samples[s][m][t][h]: hidden counts of every sample. */
  samples: number[][][][];
}

export function referencePosterior(
  model: { layout: ParamLayout; basis: number[] },
  params: ArrayLike<number>,
  sequences: number[][][],
  options: { samples: number; seed: number },
): ReferencePosterior {
  const method = resolveMethod('poisson');
  const { hidden } = model.layout;
  const bins = sequences[0].length;
  const noise = baseNoiseArray(method, { seed: options.seed, purpose: NoisePurpose.evaluate, step: 0, sequences: sequences.length, samples: options.samples, bins, hidden });
  const means: number[][][] = [];
  const samples: number[][][][] = [];
  sequences.forEach((x, s) => {
    const traces = noise[s].map((sampleNoise) => traceSample({ ...model, method }, params, x, sampleNoise));
    means.push(Array.from({ length: bins }, (_, t) => Array.from({ length: hidden }, (_, h) => traces.reduce((sum, trace) => sum + trace.mu[t][h], 0) / traces.length)));
    samples.push(traces.map((trace) => trace.counts));
  });
  return { means, samples };
}
