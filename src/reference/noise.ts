// Twin of shaders/noise.wgsl: the base noise of one hidden unit in one bin, from its Philox stream.
import type { ResolvedMethod } from '../model/types.js';
import { gumbelFromBits, noiseKey, noiseWord, normalFromBits, uniformFromBits } from '../model/philox.js';

/** Base noise of hidden unit `unit`: words unit * wordsPerUnit .. of the (time, sample, sequence) stream. */
export function drawBaseNoise(
  kind: ResolvedMethod['info']['noise'],
  key: [number, number],
  time: number,
  unit: number,
  sample: number,
  sequence: number,
  width: number,
): number[] {
  const word = (index: number): number => noiseWord(key, time, index, sample, sequence);
  if (kind === 'uniform') return [uniformFromBits(word(unit))];
  if (kind === 'normal') return [normalFromBits(word(2 * unit), word(2 * unit + 1))];
  return Array.from({ length: width }, (_, k) => gumbelFromBits(word(unit * width + k)));
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
