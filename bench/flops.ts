// The necessary work of one training step: the arithmetic of the cheapest correct algorithm for the step, stage of
// the math by stage, independent of how the kernels are written. A step time turns into GFLOP/s of useful work, the
// same count for every engine (WGSL, tfjs, torch), so no engine can look faster by doing redundant work: work that
// an engine repeats (a drive recomputed per sample, a visible-column gradient formed per sample instead of once per
// sequence, padding lanes) is not counted.
//
// Flop rules (docs/benchmarks.md repeats them):
// - a multiply-add = 2 flops; any other f32 add, subtract, multiply, divide = 1; exp, log, sqrt, pow = 1 each;
// - elementwise functions at their cheapest: sigmoid 4 (negate, exp, add, divide), the exponential method's draw 3
//   (subtract, log, multiply), its log-density 4 (log, divide, add, subtract), its mean derivative 4, its sample
//   gradient 1, the Poisson log-likelihood of a visible count 4 (log, multiply, subtract, add) and its derivative 3;
// - the shared work is counted once: the visible drives and the visible columns of the gradient once per
//   (model, sequence), since they do not depend on the sample (the samples' row factors are summed first, M adds);
// - not counted: integer and index arithmetic, loads and stores, random-number generation, control flow.
// Only the exponential method is modelled (the benchmark's cases); other methods throw.
import type { Scheme } from '../src/model/types.js';

/** The stages of the math of a training step. */
export const STAGES = ['drive', 'sample', 'logJoint', 'backward', 'gradient', 'adam'] as const;
export type Stage = (typeof STAGES)[number];

export interface StepShape {
  scheme: Scheme;
  method: string;
  visible: number;
  hidden: number;
  bins: number;
  /** Basis length L. */
  basisLength: number;
  /** Models B in the job. */
  models: number;
  /** Sequences per model per step. */
  slots: number;
  /** Monte Carlo samples M. */
  samples: number;
}

/** Flops of one training step, per stage of the math and in total. */
export type StepFlops = Record<Stage, number> & { total: number };

const SIGMOID = 4;
const EXPONENTIAL_DRAW = 3;
const EXPONENTIAL_LOG_DENSITY = 4;
const EXPONENTIAL_MEAN_DERIVATIVE = 4;
const EXPONENTIAL_SAMPLE_GRADIENT = 1;
const POISSON_LOG_LIKELIHOOD = 4;
const POISSON_DERIVATIVE = 3;
/** Adam per parameter: two moments (3 + 4), two bias corrections (2), the root, eps and the update (4). */
const ADAM = 13;

/** sum over t of min(L, t): the lags a causal convolution of bin t sums (the same for the anti-causal one). */
export function lagCount(bins: number, basisLength: number): number {
  let total = 0;
  for (let t = 0; t < bins; t++) total += Math.min(basisLength, t);
  return total;
}

/** Parameters per model. */
export function parameterCount(scheme: Scheme, visible: number, hidden: number): number {
  const N = visible + hidden;
  const forwardColumns = scheme === 'FS' ? N : visible;
  return N * N + N + hidden * forwardColumns + (scheme === 'FB' ? hidden * visible : 0) + hidden;
}

/** The necessary flops of one training step of `shape` (exponential method), per stage and in total. */
export function stepFlops(shape: StepShape): StepFlops {
  if (shape.method !== 'exponential') throw new Error(`the flop model covers the exponential method only, not ${shape.method}`);
  const { scheme, visible: V, hidden: H, bins: T, basisLength: L, models: B, slots: S, samples: M } = shape;
  const N = V + H;
  const FS = scheme === 'FS' ? 1 : 0;
  const FB = scheme === 'FB' ? 1 : 0;
  const P = parameterCount(scheme, V, H);
  const pairs = B * S;
  const instances = pairs * M;
  const lags = lagCount(T, L);

  // Once per (model, sequence): the generative drive's visible part (N x V) and q's (H x V, and H x V backward for
  // FB), plus the biases.
  const drive = pairs * T * (2 * N * V + 2 * H * V * (1 + FB) + N + H);

  // Per sample: mu = sigma(g), the draw, ln q; FS adds the samples' own history (H x L convolution, H x H drive).
  const sample = instances * (T * H * (SIGMOID + EXPONENTIAL_DRAW + EXPONENTIAL_LOG_DENSITY + 1) + FS * (2 * H * lags + 2 * T * H * H));

  // Per sample: cz (H x L), the hidden part of the drive (N x H), lambda, ln p (V Poisson terms, H densities), each
  // neuron's delta, and d ln p / d cz = W_hid^T delta (N x H).
  const perBin = 2 * N * H + N * SIGMOID + V * (POISSON_LOG_LIKELIHOOD + POISSON_DERIVATIVE + 2) + H * (EXPONENTIAL_LOG_DENSITY + EXPONENTIAL_MEAN_DERIVATIVE + 3) + 2 * N * H + N;
  const logJoint = instances * (2 * H * lags + T * perBin);

  // Per sample and hidden unit: dJ/dcz through the later bins (L lags), the pathwise chain (p and q sample
  // gradients, through dz/dmu, minus the mean derivative, times mu(1-mu)); FS adds dJ/dcz through q (H x H).
  const backward = instances * (2 * H * lags + T * H * (2 * EXPONENTIAL_SAMPLE_GRADIENT + 6) + FS * 2 * T * H * H);

  // The gradient blocks. Visible columns (cx, rx): the samples' row factors summed (M adds per factor), then one
  // product per (model, sequence). Per-sample columns: theta's hidden history and bias (N x (H + 1)), phi forward's
  // bias (and hidden history for FS). The mean over the minibatch: one division per parameter.
  const visibleColumns = instances * T * (N + H) + pairs * T * 2 * (N + H + FB * H) * V;
  const perSampleColumns = instances * T * 2 * (N * (H + 1) + H * (1 + FS * H));
  const gradient = visibleColumns + perSampleColumns + B * P;

  const adam = B * P * ADAM;
  const stages: Record<Stage, number> = { drive, sample, logJoint, backward, gradient, adam };
  return { ...stages, total: STAGES.reduce((sum, stage) => sum + stages[stage], 0) };
}

/** Flops of the FMA peak kernel (bench/kernels/fma_peak.wgsl): threads x iterations x chains x 4 lanes x 2. */
export function fmaPeakFlops(threads: number, iterations: number, chains: number): number {
  return threads * iterations * chains * 4 * 2;
}
