// Small, fixed problems shared by the reference and GPU tests: a model, data and base noise for every scheme and
// method, all drawn from seeded Philox streams so every run sees the same numbers.
import { exponentialBasis } from '../../src/model/basis.js';
import { gumbelFromBits, normalFromBits, PhiloxStream } from '../../src/model/philox.js';
import { paramLayout, type ParamLayout } from '../../src/model/params.js';
import { resolveMethod, type Method, type ResolvedMethod, type Scheme } from '../../src/model/types.js';
import type { ReferenceModel } from '../../src/reference/model.js';
import { computeElboGradient, type GradientResult } from '../../src/engine/gradient.js';
import type { GpuSession } from '../../src/engine/session.js';
import type { JobPath } from '../../src/engine/spec.js';

export interface TestProblem {
  model: ReferenceModel;
  layout: ParamLayout;
  method: ResolvedMethod;
  params: Float64Array;
  sequences: number[][][];
  /** noise[s][m][t][h][k] */
  noise: number[][][][][];
}

export function baseNoise(
  method: ResolvedMethod,
  sequences: number,
  samples: number,
  bins: number,
  hidden: number,
  seed: number,
): number[][][][][] {
  const stream = new PhiloxStream(seed, 7);
  const draw = (): number[] => {
    if (method.info.noise === 'gumbel') return Array.from({ length: method.noiseWidth }, () => gumbelFromBits(stream.nextU32()));
    if (method.info.noise === 'normal') return [normalFromBits(stream.nextU32(), stream.nextU32())];
    return [stream.nextUniform()];
  };
  return Array.from({ length: sequences }, () =>
    Array.from({ length: samples }, () => Array.from({ length: bins }, () => Array.from({ length: hidden }, draw))),
  );
}

export function makeProblem(
  scheme: Scheme,
  methodName: Method,
  options: {
    visible?: number;
    hidden?: number;
    bins?: number;
    sequences?: number;
    samples?: number;
    seed?: number;
    basisLength?: number;
    /** Parameters are uniform in [-scale/2, scale/2] (default 1.6); large models want smaller ones. */
    paramScale?: number;
  } = {},
): TestProblem {
  const visible = options.visible ?? 3;
  const hidden = options.hidden ?? 2;
  const bins = options.bins ?? 12;
  const sequenceCount = options.sequences ?? 2;
  const samples = options.samples ?? 2;
  const seed = options.seed ?? 11;
  const method = resolveMethod(methodName);
  const layout = paramLayout(visible, hidden, scheme);
  const basis = exponentialBasis(options.basisLength ?? 4);
  const stream = new PhiloxStream(seed, 9);
  const params = new Float64Array(layout.total);
  const scale = options.paramScale ?? 1.6;
  for (let i = 0; i < layout.total; i++) params[i] = (stream.nextUniform() - 0.5) * scale;
  const sequences = Array.from({ length: sequenceCount }, () =>
    Array.from({ length: bins }, () => Array.from({ length: visible }, () => Math.floor(stream.nextUniform() * 3))),
  );
  return {
    model: { layout, basis, method },
    layout,
    method,
    params,
    sequences,
    noise: baseNoise(method, sequenceCount, samples, bins, hidden, seed + 1),
  };
}

/** Relative error of a vector: |a - b| / max(|b|, floor). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-12): number {
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    difference += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(difference) / Math.max(Math.sqrt(norm), floor);
}

export function centralDifferences(objective: (params: ArrayLike<number>) => number, params: Float64Array, step = 1e-5): Float64Array {
  const gradient = new Float64Array(params.length);
  const probe = Float64Array.from(params);
  for (let i = 0; i < params.length; i++) {
    probe[i] = params[i] + step;
    const up = objective(probe);
    probe[i] = params[i] - step;
    const down = objective(probe);
    probe[i] = params[i];
    gradient[i] = (up - down) / (2 * step);
  }
  return gradient;
}

/** The GPU engine's ELBO and gradient for a problem's parameters, data and base noise. */
export function gradientOnDevice(session: GpuSession, problem: TestProblem, path?: JobPath): Promise<GradientResult> {
  return computeElboGradient(session, {
    path,
    layout: problem.layout,
    basis: problem.model.basis,
    method: problem.method,
    params: problem.params,
    sequences: problem.sequences,
    noise: problem.noise,
  });
}
