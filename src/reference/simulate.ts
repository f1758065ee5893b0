// Float64 twin of shaders/simulate.wgsl: every neuron Poisson with rate sigma(b + W c[t]), zero history before t = 0.
import { poissonInversion } from './distributions.js';
import { noiseKey, noiseWord, uniformFromBits } from '../model/philox.js';
import { sigmoid } from './special.js';


/** Uniform for (sequence, bin, neuron); the default is the GPU's Philox stream for (seed, purpose). */
export type UniformSource = (sequence: number, time: number, neuron: number) => number;

export function philoxUniforms(seed: number, purpose: number): UniformSource {
  const key = noiseKey(seed, purpose, 0);
  // Neuron n takes word n of the bin's stream (shaders/simulate.wgsl).
  return (sequence, time, neuron) => uniformFromBits(noiseWord(key, time, neuron, 0, sequence));
}

/** Returns spikes[s][t][n] for all N neurons. */
export function simulateReference(
  weight: number[][],
  bias: number[],
  basis: number[],
  bins: number,
  sequences: number,
  uniform: UniformSource,
): number[][][] {
  const N = bias.length;
  return Array.from({ length: sequences }, (_, s) => {
    const spikes: number[][] = [];
    for (let t = 0; t < bins; t++) {
      const history = Array.from({ length: N }, (_, m) => {
        let sum = 0;
        for (let l = 1; l <= basis.length && t - l >= 0; l++) sum += basis[l - 1] * spikes[t - l][m];
        return sum;
      });
      spikes.push(
        Array.from({ length: N }, (_, n) => {
          let drive = bias[n];
          for (let m = 0; m < N; m++) drive += weight[n][m] * history[m];
          return poissonInversion(sigmoid(drive), uniform(s, t, n));
        }),
      );
    }
    return spikes;
  });
}
