// Spike-count data: validation with errors that name the exact element and the fix, and flattening to the
// [sequence][bin][neuron] f32 layout the GPU reads.
import { logFactorialInteger } from './math.js';

export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export interface CountShape {
  sequences: number;
  bins: number;
  neurons: number;
}

/**
 * Checks that `data` is a nested array [sequence][bin][neuron] of non-negative integers, every sequence with the same
 * number of bins and every bin with `neurons` entries (when given). `name` is the field the user knows ("train",
 * "--test FILE.json", "counts").
 */
export function validateCounts(
  name: string,
  data: unknown,
  expect: { neurons?: number; bins?: number; role?: 'visible' | 'hidden'; binsFrom?: string } = {},
): CountShape {
  if (!Array.isArray(data)) throw new DataError(`${name} must be an array [sequence][time][neuron] of spike counts, got ${typeof data}`);
  if (data.length === 0) throw new DataError(`${name} holds no sequences; give at least one [time][neuron] array`);
  let bins = expect.bins;
  let neurons = expect.neurons;
  data.forEach((sequence: unknown, s) => {
    if (!Array.isArray(sequence)) throw new DataError(`${name}[${s}] must be an array of time bins, got ${typeof sequence}`);
    if (sequence.length === 0) throw new DataError(`${name}[${s}] has no time bins`);
    if (bins === undefined) bins = sequence.length;
    if (sequence.length !== bins) {
      throw new DataError(
        `${name}[${s}] has ${sequence.length} time bins but ${expect.bins === undefined ? `${name}[0]` : (expect.binsFrom ?? 'the visible counts')} has ${bins}: ` +
          'all sequences must have the same length (cut or pad them to a common number of bins)',
      );
    }
    sequence.forEach((bin: unknown, t) => {
      if (!Array.isArray(bin)) throw new DataError(`${name}[${s}][${t}] must be an array of per-neuron counts, got ${typeof bin}`);
      if (neurons === undefined) neurons = bin.length;
      if (bin.length !== neurons) {
        throw new DataError(
          `${name}[${s}][${t}] has ${bin.length} neurons but ${expect.neurons === undefined ? `${name}[0][0] has` : 'the model expects'} ${neurons}` +
            (expect.neurons === undefined ? ': every bin must list the same neurons' : ` ${expect.role ?? 'visible'} neurons: check the data file matches the model`),
        );
      }
      bin.forEach((count: unknown, v) => {
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
          throw new DataError(
            `${name}[${s}][${t}][${v}] is ${JSON.stringify(count) ?? String(count)}: spike counts must be non-negative integers`,
          );
        }
        if (count > 2 ** 24) {
          throw new DataError(`${name}[${s}][${t}][${v}] is ${count}: counts above 2^24 are not exact in f32; use smaller bins`);
        }
      });
    });
  });
  if (neurons === 0) throw new DataError(`${name} has bins with no neurons`);
  return { sequences: data.length, bins: bins!, neurons: neurons! };
}

/** [sequence][bin][neuron] into one f32 array, after validation. */
export function flattenCounts(data: number[][][]): Float32Array {
  const shape = { sequences: data.length, bins: data[0].length, neurons: data[0][0].length };
  const flat = new Float32Array(shape.sequences * shape.bins * shape.neurons);
  let index = 0;
  for (const sequence of data) for (const bin of sequence) for (const count of bin) flat[index++] = count;
  return flat;
}

/** sum over the sequence of ln x!, per sequence, in float64: the constant part of the visible Poisson likelihood. */
export function sequenceLogFactorials(data: number[][][]): Float64Array {
  return Float64Array.from(data, (sequence) => {
    let total = 0;
    for (const bin of sequence) for (const count of bin) total += logFactorialInteger(count);
    return total;
  });
}
