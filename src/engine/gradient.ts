// The ELBO of one model on given sequences and its gradient for given base noise (or the model's own Philox
// noise): the computation `poglm grad` prints and the gradient tests compare with the float64 reference.
import type { ParamLayout } from '../model/params.js';
import type { ResolvedMethod } from '../model/types.js';
import { NoisePurpose } from '../model/philox.js';
import type { GpuSession } from './session.js';
import { checkIntegerOptions, KEY_LIMITS } from './noise.js';
import { runSingleModelJob } from './single.js';
import type { JobPath } from './spec.js';

export interface GradientRequest {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
  params: ArrayLike<number>;
  /** x[s][t][v]. */
  sequences: number[][][];
  /** noise[s][m][t][h][k]; when absent, `samples` draws per sequence from the Philox stream of `seed`. */
  noise?: number[][][][][];
  samples?: number;
  seed?: number;
  /** Noise step (the training step whose noise to reproduce); default 0. */
  step?: number;
  /** The job's path (src/engine/spec.ts JobPath): fused where the model allows, unless 'staged'. */
  path?: JobPath;
}

export interface GradientResult {
  elbo: number;
  /** w[s][m]. */
  weights: number[][];
  /** On the flat layout; score methods: the surrogate's gradient. */
  gradient: Float64Array;
}

/** Flattens noise[s][m][t][h][k] into the instance order of the job, checking every dimension. */
export function flattenNoise(
  noise: number[][][][][],
  shape: { sequences: number; bins: number; hidden: number; width: number; uniform?: boolean },
  name = 'noise',
): { data: Float32Array; samples: number } {
  if (!Array.isArray(noise) || noise.length !== shape.sequences) {
    throw new Error(`${name} must have one entry per sequence (${shape.sequences}), got ${Array.isArray(noise) ? noise.length : typeof noise}`);
  }
  const samples = Array.isArray(noise[0]) ? noise[0].length : 0;
  if (samples === 0) throw new Error(`${name}[0] must hold at least one sample`);
  const data = new Float32Array(shape.sequences * samples * shape.bins * shape.hidden * shape.width);
  let index = 0;
  noise.forEach((sequence, s) => {
    if (!Array.isArray(sequence) || sequence.length !== samples) {
      throw new Error(`${name}[${s}] has ${Array.isArray(sequence) ? sequence.length : typeof sequence} samples; every sequence needs ${samples}`);
    }
    sequence.forEach((sample, m) => {
      if (!Array.isArray(sample) || sample.length !== shape.bins) {
        throw new Error(`${name}[${s}][${m}] must have ${shape.bins} time bins`);
      }
      sample.forEach((bin, t) => {
        if (!Array.isArray(bin) || bin.length !== shape.hidden) {
          throw new Error(`${name}[${s}][${m}][${t}] must have ${shape.hidden} hidden units`);
        }
        bin.forEach((unit, h) => {
          const values = shape.width === 1 && typeof unit === 'number' ? [unit] : unit;
          if (!Array.isArray(values) || values.length !== shape.width) {
            throw new Error(`${name}[${s}][${m}][${t}][${h}] must be ${shape.width === 1 ? 'a number' : `an array of ${shape.width} Gumbel draws`}`);
          }
          values.forEach((value: unknown, k: number) => {
            if (typeof value !== 'number' || !Number.isFinite(value)) {
              throw new Error(`${name}[${s}][${m}][${t}][${h}]${shape.width > 1 ? `[${k}]` : ''} must be a finite number`);
            }
            if (shape.uniform && !(value > 0 && value < 1)) {
              throw new Error(`${name}[${s}][${m}][${t}][${h}] is ${value}: this method's base noise is uniform in (0, 1)`);
            }
            data[index++] = value;
          });
        });
      });
    });
  });
  return { data, samples };
}

export async function computeElboGradient(session: GpuSession, request: GradientRequest): Promise<GradientResult> {
  const { layout, method } = request;
  const sequences = request.sequences.length;
  let flatNoise: Float32Array | undefined;
  let samples = request.samples ?? 1;
  checkIntegerOptions(
    { samples, seed: request.seed ?? 0, step: request.step ?? 0 },
    { samples: [1, 2 ** 32], seed: KEY_LIMITS.seed, step: KEY_LIMITS.step },
  );
  if (request.noise) {
    const bins = Array.isArray(request.sequences[0]) ? request.sequences[0].length : 0;
    const flat = flattenNoise(request.noise, { sequences, bins, hidden: layout.hidden, width: method.noiseWidth, uniform: method.info.noise === 'uniform' });
    flatNoise = flat.data;
    samples = flat.samples;
  }
  return runSingleModelJob(
    session,
    request,
    {
      samples,
      noise: flatNoise ? 'buffer' : 'philox',
      mode: 'gradient',
      purpose: NoisePurpose.train,
      seed: request.seed,
      step: request.step,
      path: request.path,
    },
    (job) => flatNoise && job.writeNoise(flatNoise),
    async (job) => {
      const [history, gradient, weights] = await Promise.all([
        job.read('elboHistory'),
        job.read('gradients'),
        job.read('sampleWeights'),
      ]);
      return {
        elbo: history[0],
        weights: Array.from({ length: sequences }, (_, s) => Array.from(weights.subarray(s * samples, (s + 1) * samples))),
        gradient: Float64Array.from(gradient.subarray(0, layout.total)),
      };
    },
  );
}
