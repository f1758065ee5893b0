// Twin of shaders/noise.wgsl: the base noise of one hidden unit in one bin, from its Philox stream.
import type { ResolvedMethod } from '../model/types.js';
import { gumbelFromBits, noiseCounter, noiseKey, normalFromBits, philox4x32, uniformFromBits } from './philox.js';

export function drawBaseNoise(
  kind: ResolvedMethod['info']['noise'],
  key: [number, number],
  time: number,
  neuron: number,
  sample: number,
  sequence: number,
  width: number,
): number[] {
  const first = philox4x32(noiseCounter(time, neuron, 0, sample, sequence), key);
  if (kind === 'uniform') return [uniformFromBits(first[0])];
  if (kind === 'normal') return [normalFromBits(first[0], first[1])];
  const second = width > 4 ? philox4x32(noiseCounter(time, neuron, 1, sample, sequence), key) : first;
  return Array.from({ length: width }, (_, k) => gumbelFromBits(k < 4 ? first[k] : second[k - 4]));
}

/** noise[s][m][t][h][k] for a job's (seed, purpose, step): what the GPU draws for it. */
export function baseNoiseArray(
  method: ResolvedMethod,
  options: { seed: number; purpose: number; step: number; sequences: number; samples: number; bins: number; hidden: number },
): number[][][][][] {
  const key = noiseKey(options.seed, options.purpose, options.step);
  return Array.from({ length: options.sequences }, (_, s) =>
    Array.from({ length: options.samples }, (_, m) =>
      Array.from({ length: options.bins }, (_, t) =>
        Array.from({ length: options.hidden }, (_, h) => drawBaseNoise(method.info.noise, key, t, h, m, s, method.noiseWidth)),
      ),
    ),
  );
}
