// Simulation on the GPU against its float64 twin: the same Philox uniforms give the same spikes, chunked jobs give
// what one job gives, and over 2,000 sequences the mean count per neuron matches an independent simulation.
import { describe, expect, it } from 'vitest';
import { simulateOnDevice } from '../src/engine/simulate.js';
import type { GenerativeParams } from '../src/model/types.js';
import { exponentialBasis } from '../src/model/basis.js';
import { NoisePurpose, PhiloxStream } from '../src/model/philox.js';
import { philoxUniforms, simulateReference } from '../src/reference/simulate.js';
import { useGpuSession } from './helpers/gpu.js';

function randomModel(neurons: number, seed: number, scale = 2): GenerativeParams {
  const stream = new PhiloxStream(seed, 4);
  return {
    weight: Array.from({ length: neurons }, () => Array.from({ length: neurons }, () => (stream.nextUniform() * 2 - 1) * scale)),
    bias: Array.from({ length: neurons }, () => stream.nextUniform() - 0.5),
  };
}

describe('simulate on the GPU', () => {
  const gpu = useGpuSession();
  const basis = exponentialBasis(5);

  it('draws the same spikes as the float64 twin from the same Philox stream', async () => {
    const models = [randomModel(5, 1), randomModel(5, 2)];
    const seeds = [10, 11];
    const result = await simulateOnDevice(gpu(), { models, basis, sequences: 6, bins: 80, seeds });
    models.forEach((model, b) => {
      const expected = simulateReference(model.weight, model.bias, basis, 80, 6, philoxUniforms(seeds[b], NoisePurpose.simulate));
      const actual = Array.from(result.spikes.subarray(b * 6 * 80 * 5, (b + 1) * 6 * 80 * 5));
      expect(actual).toEqual(expected.flat(2));
    });
    expect(result.spikes.reduce((sum, count) => sum + count, 0)).toBeGreaterThan(100);
  });

  it('gives the same spikes when split into chunks', async () => {
    const models = [randomModel(4, 3), randomModel(4, 4), randomModel(4, 5)];
    const whole = await simulateOnDevice(gpu(), { models, basis, sequences: 7, bins: 30, seeds: [1, 2, 3] });
    const split = await simulateOnDevice(gpu(), { models, basis, sequences: 7, bins: 30, seeds: [1, 2, 3], maxChunkBytes: 2 * 30 * 4 * 4 });
    expect(whole.chunks).toBe(1);
    expect(split.chunks).toBeGreaterThan(3);
    expect(Array.from(split.spikes)).toEqual(Array.from(whole.spikes));
  });

  it('reproduces the mean count per neuron of an independent simulation over 2,000 sequences', async () => {
    const model = randomModel(5, 42);
    const sequences = 2000;
    const bins = 100;
    const result = await simulateOnDevice(gpu(), { models: [model], basis, sequences, bins, seeds: 7 });
    // Independent: the float64 simulator with a different stream (another seed and purpose).
    const stream = new PhiloxStream(123456, 6);
    const reference = simulateReference(model.weight, model.bias, basis, bins, sequences, () => stream.nextUniform());
    for (let n = 0; n < 5; n++) {
      const gpuTotals = Array.from({ length: sequences }, (_, s) => {
        let total = 0;
        for (let t = 0; t < bins; t++) total += result.spikes[(s * bins + t) * 5 + n];
        return total;
      });
      const refTotals = reference.map((sequence) => sequence.reduce((total, bin) => total + bin[n], 0));
      const meanOf = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      const varianceOf = (values: number[]) => {
        const m = meanOf(values);
        return values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1);
      };
      const standardError = Math.sqrt(varianceOf(gpuTotals) / sequences + varianceOf(refTotals) / sequences);
      expect(Math.abs(meanOf(gpuTotals) - meanOf(refTotals))).toBeLessThan(4 * standardError);
      expect(meanOf(gpuTotals)).toBeGreaterThan(1);
    }
  });

  it.each([
    { name: 'a basis longer than the sequence', change: { bins: 4 }, message: /basis has 5 lags but sequences have only 4 bins/ },
    { name: 'zero sequences', change: { sequences: 0 }, message: /sequences must be a positive integer/ },
    { name: 'a seed per model missing', change: { seeds: [1, 2] }, message: /seeds: give one per model/ },
  ])('rejects $name', async ({ change, message }) => {
    await expect(
      simulateOnDevice(gpu(), { models: [randomModel(3, 1)], basis, sequences: 2, bins: 20, seeds: 1, ...change }),
    ).rejects.toThrow(message);
  });

  it('rejects a weight matrix of the wrong size, naming it', async () => {
    const model = randomModel(3, 1);
    model.weight[1] = [0, 0];
    await expect(simulateOnDevice(gpu(), { models: [model], basis, sequences: 2, bins: 20, seeds: 1 })).rejects.toThrow(
      /models\[0\]\.weight\[1\] must have 3 entries/,
    );
  });
});
