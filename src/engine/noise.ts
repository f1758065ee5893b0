// Base noise drawn on the GPU, exactly as a job's sampling stage draws it.
import type { ResolvedMethod } from '../model/types.js';
import { baseNoiseProgram, rawWordsProgram } from './programs.js';
import type { GpuSession } from './session.js';

/** Checks that each named option is an integer in [min, limit), naming the first that is not. */
export function checkIntegerOptions(options: Record<string, number>, limits: Record<string, readonly [number, number]>): void {
  const bound = (limit: number): string => (limit >= 2 ** 16 && Number.isInteger(Math.log2(limit)) ? `2^${Math.log2(limit)}` : String(limit));
  for (const [name, [min, limit]] of Object.entries(limits)) {
    const value = options[name];
    if (!Number.isInteger(value) || value < min || value >= limit) {
      throw new Error(`${name} must be an integer in [${min}, ${bound(limit)}), got ${value}`);
    }
  }
}

/** What a noise key holds: a 32-bit seed, and the step and purpose packed into 28 and 4 bits. */
export const KEY_LIMITS = { seed: [0, 2 ** 32], purpose: [0, 16], step: [0, 2 ** 28] } as const;

/** Philox words: 4 per counter (i, 0, 0, 0), i = 0..count-1, for key (seed, purpose, step). */
export async function philoxWords(
  session: GpuSession,
  options: { count: number; seed: number; purpose: number; step: number },
): Promise<Uint32Array> {
  checkIntegerOptions(options, { ...KEY_LIMITS, count: [1, 2 ** 32] });
  const context = session.context;
  const words = context.createStorage('philoxWords', options.count * 16);
  try {
    const kernel = await session.runtime.bind(rawWordsProgram(), {
      buffers: { words },
      uniforms: { ...options, sequences: 0, samples: 0, bins: 0, hidden: 0, width: 0 },
    });
    try {
      await session.runtime.submit('philox words', (pass) => kernel.encode(pass, kernel.dispatchFor(options.count)));
      return await context.readU32(words, 0, options.count * 4);
    } finally {
      kernel.release();
    }
  } finally {
    context.release(words);
  }
}

/** noise laid out [sequence][sample][bin][hidden][width] as a flat array. */
export async function drawBaseNoiseOnDevice(
  session: GpuSession,
  method: ResolvedMethod,
  options: { seed: number; purpose: number; step: number; sequences: number; samples: number; bins: number; hidden: number },
): Promise<Float32Array> {
  checkIntegerOptions(options, { ...KEY_LIMITS, sequences: [1, 2 ** 32], samples: [1, 2 ** 32], bins: [1, 2 ** 32], hidden: [1, 65] });
  const context = session.context;
  const units = options.sequences * options.samples * options.bins * options.hidden;
  const noise = context.createStorage('baseNoise', units * method.noiseWidth * 4);
  try {
    const kernel = await session.runtime.bind(baseNoiseProgram(method.info.noise), {
      buffers: { noise },
      uniforms: { ...options, count: 0, width: method.noiseWidth },
    });
    try {
      await session.runtime.submit('base noise', (pass) => kernel.encode(pass, kernel.dispatchFor(units)));
      return await context.readF32(noise, 0, units * method.noiseWidth);
    } finally {
      kernel.release();
    }
  } finally {
    context.release(noise);
  }
}
