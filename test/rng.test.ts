// The counter-based generator: Philox-4x32-10 against the Random123 known answers, the WGSL kernel against its
// TypeScript twin bit for bit, and the uniforms, normals and Gumbels the stages draw against their distributions.
import { describe, expect, it } from 'vitest';
import { drawBaseNoiseOnDevice, philoxWords } from '../src/engine/noise.js';
import { resolveMethod } from '../src/model/types.js';
import { baseNoiseArray } from '../src/reference/noise.js';
import { mulHigh32, noiseKey, philox4x32, uniformFromBits, type Word4 } from '../src/model/philox.js';
import { useGpuSession } from './helpers/gpu.js';
import { EULER_GAMMA, gumbelCdf, ksCritical, ksDistance, mean, normalCdf, variance } from './helpers/stats.js';

describe('Philox-4x32-10 in TypeScript', () => {
  it.each([
    { counter: [0, 0, 0, 0], key: [0, 0], expected: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
    {
      counter: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      key: [0xffffffff, 0xffffffff],
      expected: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    },
    {
      counter: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      key: [0xa4093822, 0x299f31d0],
      expected: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    },
  ])('matches the Random123 known answer for counter $counter', ({ counter, key, expected }) => {
    expect(philox4x32(counter as Word4, key as [number, number])).toEqual(expected);
  });

  it('computes the high word of 32x32-bit products exactly', () => {
    let state = 12345n;
    for (let i = 0; i < 2000; i++) {
      state = (state * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      const a = Number(state >> 32n);
      const b = Number(state & 0xffffffffn);
      expect(mulHigh32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }
  });

  it('maps words to uniforms strictly inside (0, 1)', () => {
    expect(uniformFromBits(0)).toBeGreaterThan(0);
    expect(uniformFromBits(0xffffffff)).toBeLessThan(1);
    expect(uniformFromBits(0)).toBe(Math.fround(uniformFromBits(0)));
    expect(uniformFromBits(0xffffffff)).toBe(Math.fround(uniformFromBits(0xffffffff)));
  });
});

describe('Philox on the GPU', () => {
  const gpu = useGpuSession();

  it.each([
    { seed: 0, purpose: 0, step: 0 },
    { seed: 0xdeadbeef, purpose: 2, step: 12345 },
    { seed: 7, purpose: 15, step: 2 ** 28 - 1 },
  ])('produces the TypeScript twin\'s words exactly (seed $seed, purpose $purpose, step $step)', async (stream) => {
    const count = 4096;
    const words = await philoxWords(gpu(), { count, ...stream });
    const key = noiseKey(stream.seed, stream.purpose, stream.step);
    for (let i = 0; i < count; i++) {
      const expected = philox4x32([i, 0, 0, 0], key);
      for (let k = 0; k < 4; k++) {
        if (words[4 * i + k] !== expected[k]) expect.fail(`word ${4 * i + k}: ${words[4 * i + k]} != ${expected[k]}`);
      }
    }
  });

  it.each([
    { method: 'exponential' as const, categories: 5 },
    { method: 'half-normal' as const, categories: 5 },
    { method: 'gs-pathwise' as const, categories: 5 },
    { method: 'gs-score' as const, categories: 8 },
  ])('draws $method base noise as the twin does (K = $categories)', async ({ method, categories }) => {
    const resolved = resolveMethod({ method, categories });
    const options = { seed: 99, purpose: 2, step: 3, sequences: 3, samples: 4, bins: 17, hidden: 3 };
    const actual = await drawBaseNoiseOnDevice(gpu(), resolved, options);
    const expected = baseNoiseArray(resolved, options).flat(4);
    expect(actual.length).toBe(expected.length);
    // Uniforms are exact in f32; normals and Gumbels pass through f32 log/cos/sqrt.
    const tolerance = resolved.info.noise === 'uniform' ? 0 : 2e-5;
    expected.forEach((value, index) => {
      const error = Math.abs(actual[index] - value);
      if (error > tolerance * Math.max(1, Math.abs(value))) expect.fail(`value ${index}: ${actual[index]} vs ${value}`);
    });
  });

  const draws = async (method: 'exponential' | 'half-normal' | 'gs-score'): Promise<Float32Array> =>
    drawBaseNoiseOnDevice(gpu(), resolveMethod(method), {
      seed: 2024,
      purpose: 2,
      step: 0,
      sequences: 8,
      samples: 16,
      bins: 128,
      hidden: 4,
    });

  it('draws uniforms with the right moments and distribution', async () => {
    const u = await draws('exponential');
    const n = u.length;
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(variance(u) - 1 / 12)).toBeLessThan(4 * Math.sqrt(1 / 180 / n));
    expect(ksDistance(u, (x) => x)).toBeLessThan(ksCritical(n));
  });

  it('draws standard normals with the right moments and distribution', async () => {
    const e = await draws('half-normal');
    const n = e.length;
    expect(Math.abs(mean(e))).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(variance(e) - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    expect(ksDistance(e, normalCdf)).toBeLessThan(ksCritical(n));
  });

  it('draws standard Gumbels with the right moments and distribution', async () => {
    const g = await draws('gs-score');
    const n = g.length;
    const gumbelVariance = Math.PI ** 2 / 6;
    expect(Math.abs(mean(g) - EULER_GAMMA)).toBeLessThan(4 * Math.sqrt(gumbelVariance / n));
    // Var of the sample variance of a Gumbel: (mu4 - sigma^4) / n with excess kurtosis 12/5.
    expect(Math.abs(variance(g) - gumbelVariance)).toBeLessThan(4 * Math.sqrt(((12 / 5 + 2) * gumbelVariance ** 2) / n));
    expect(ksDistance(g, gumbelCdf)).toBeLessThan(ksCritical(n));
  });
});
