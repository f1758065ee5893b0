// Analytic floating-point operation counts of one fused WGSL training step (mode 'train'), so that a measured step
// time turns into achieved GFLOP/s. The counts follow the loop structure of the stage kernels as they were written
// when this model was made (shaders/drive.wgsl, sample_q.wgsl, log_likelihood_p.wgsl, backward.wgsl, reduce.wgsl,
// adam.wgsl, advance.wgsl; see FLOP_MODEL_SHADERS below) and are kept fixed afterwards: they define the *work* of a
// step, the way 2n^3 defines the work of a matrix product, so GFLOP/s stays comparable when the kernels are
// reorganised (a faster kernel raises GFLOP/s; a kernel that skips or recomputes work does not change the count).
//
// Rules (docs/benchmarks.md repeats them):
// - a multiply-add `s += a * b` (or fma) = 2 flops; any other f32 arithmetic op (+, -, *, unary minus, abs, max) = 1;
// - each transcendental or division (exp, log, sqrt, pow, /) = 1;
// - not counted: integer and index arithmetic, comparisons and selects of control flow, loads and stores,
//   u32 -> f32 conversions, bitcasts, and the Philox generator (10 rounds of 32-bit integer multiplies and xors);
//   the uniform-from-bits step after Philox, (f32(bits >> 9) + 0.5) * 2^-23, counts 2;
// - operations are counted as written in the source, both arms of a `select` included (sigmoid = 7: abs, neg, exp,
//   two `1 + e`, two divisions), except loops over the padded `Categories` array (8 slots), which count only the
//   slots the method uses (1 for exponential): the other 7 are padding, not work;
// - uniform-only expressions (1 - beta1, ...) are counted where they are written, once per thread;
// - every slot of the minibatch is assumed filled (the benchmark always fills them; an empty slot skips its work).
// Only the exponential method is modelled (the benchmark's FB / FS / F exponential cases); other methods throw.
import type { Scheme } from '../src/model/types.js';

/** The shader files the counts were derived from (their content hash goes into the results for reference). */
export const FLOP_MODEL_SHADERS = [
  'drive.wgsl',
  'sample_q.wgsl',
  'log_likelihood_p.wgsl',
  'backward.wgsl',
  'reduce.wgsl',
  'adam.wgsl',
  'advance.wgsl',
  'distributions.wgsl',
  'special.wgsl',
  'rng.wgsl',
] as const;
/** The commit whose shaders the model was derived from. */
export const FLOP_MODEL_COMMIT = '8f8f606';

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

/** Flops of one training step, per stage and in total. */
export interface StepFlops {
  drive: number;
  sample: number;
  logJoint: number;
  backward: number;
  sumWeights: number;
  sumGradient: number;
  adam: number;
  total: number;
}

// Building blocks (exponential method), each as written in the WGSL.
/** sigmoid(x): abs, neg, exp, `1 + e` twice, two divisions (both arms of the select). */
const SIGMOID = 7;
/** uniformFromBits: + 0.5, * 2^-23. */
const UNIFORM_FROM_BITS = 2;
/** sampleFromNoise exponential: -mean * log(1 - u): neg, mul, log, sub. */
const EXPONENTIAL_SAMPLE = 4;
/** logLikelihood exponential: -log(mean + EPS) - z / (mean + EPS): add, log, neg, add, div, sub. */
const EXPONENTIAL_LOG_LIKELIHOOD = 6;
/** logLikelihoodMeanDerivative exponential: s = mean + EPS; -1/s + z/(s*s): add, div, mul, div, add. */
const EXPONENTIAL_MEAN_DERIVATIVE = 5;
/** logLikelihoodSampleGradient exponential: -1 / (mean + EPS): add, div. */
const EXPONENTIAL_SAMPLE_GRADIENT = 2;
/** sampleMeanVjp exponential: upstream * -log(1 - u): sub, log, neg, mul. */
const EXPONENTIAL_SAMPLE_VJP = 4;
/**
 * unitGradient (backward.wgsl), pathwise exponential, per hidden unit and bin: slope mean*(1-mean) (2), the mean
 * derivative (5), p and q sample gradients (2 + 2), upstream = through * countSlope + pGrad - qGrad over the one used
 * slot (3), the base noise redrawn (2), the VJP (4), (throughSample - meanDerivative) * slope (2).
 */
const UNIT_GRADIENT = 2 + EXPONENTIAL_MEAN_DERIVATIVE + 2 * EXPONENTIAL_SAMPLE_GRADIENT + 3 + UNIFORM_FROM_BITS + EXPONENTIAL_SAMPLE_VJP + 2;
/** Adam per parameter: -g (1), first moment (4), second moment (5), two bias corrections (2 + 2), denominator (4), update (4). */
const ADAM = 1 + 4 + 5 + 2 + 2 + 4 + 4;

/** sum over t of min(L, t): the lags a causal convolution of bin t reads (the same for the anti-causal one). */
export function lagCount(bins: number, basisLength: number): number {
  let total = 0;
  for (let t = 0; t < bins; t++) total += Math.min(basisLength, t);
  return total;
}

/** The flop count of one training step of `shape` (exponential method). */
export function stepFlops(shape: StepShape): StepFlops {
  if (shape.method !== 'exponential') throw new Error(`the flop model covers the exponential method only, not ${shape.method}`);
  const { scheme, visible: V, hidden: H, bins: T, basisLength: L, models: B, slots: S, samples: M } = shape;
  const N = V + H;
  const forwardColumns = scheme === 'FS' ? N : V;
  const paramCount = N * N + N + H * forwardColumns + (scheme === 'FB' ? H * V : 0) + H;
  const pairs = B * S;
  const instances = pairs * M;
  const lags = lagCount(T, L);

  // drive.wgsl: per (pair, bin), N generative columns of V multiply-adds, H variational columns of V (+ V for FB).
  const drive = pairs * T * (N * 2 * V + H * 2 * V * (scheme === 'FB' ? 2 : 1));

  // sample_q.wgsl
  let sample: number;
  if (scheme === 'FS') {
    // Per instance: the hidden history convolution (H x min(L, t) multiply-adds per bin); per bin and unit the
    // self drive (H multiply-adds), sigmoid, the sample (noise, draw, ln q), logQ +=; per bin -logQ.
    sample = instances * (H * 2 * lags + T * (H * (2 * H + SIGMOID + UNIFORM_FROM_BITS + EXPONENTIAL_SAMPLE + EXPONENTIAL_LOG_LIKELIHOOD + 1) + 1));
  } else {
    // Per (instance, bin) and unit: sigmoid, noise, draw, ln q, logQ +=; then -logQ.
    sample = instances * T * (H * (SIGMOID + UNIFORM_FROM_BITS + EXPONENTIAL_SAMPLE + EXPONENTIAL_LOG_LIKELIHOOD + 1) + 1);
  }

  // log_likelihood_p.wgsl, per (instance, bin): the hidden convolution; per neuron the drive (H multiply-adds),
  // sigmoid, slope (2); visible: ln p term and += (5), delta (4); hidden: LL_D and += (7), its mean derivative
  // times slope (6); finally weightTerms += (1).
  const logJoint = instances * (H * 2 * lags + T * (N * (2 * H + SIGMOID + 2) + V * 9 + H * (EXPONENTIAL_LOG_LIKELIHOOD + 1 + EXPONENTIAL_MEAN_DERIVATIVE + 1) + 1));

  // backward.wgsl (pathwise)
  let backward: number;
  if (scheme === 'FS') {
    // backwardSequential, per instance: per bin and unit the history term (min(L, T-1-t) multiply-adds) and
    // unitGradient; per bin and hidden column dJ/dcz = N + H multiply-adds.
    backward = instances * (H * 2 * lags + T * H * (UNIT_GRADIENT + 2 * N + 2 * H));
  } else {
    // backwardParallel, per (instance, bin) and unit: for each of min(L, T-1-t) later bins, dJ/dcz (N multiply-adds)
    // and its basis-weighted sum (1 multiply-add); then unitGradient.
    backward = instances * H * (lags * (2 * N + 2) + T * UNIT_GRADIENT);
  }

  // reduce.wgsl sumWeights, per instance: -ln x! and T additions.
  const sumWeights = instances * (T + 1);
  // reduce.wgsl sumGradient, per model: every thread computes scale = 1 / (used * M) (1); the ELBO thread sums S * M
  // weights and scales (S*M + 1); each parameter thread: per (slot, sample) T multiply-adds and total += (1), then
  // * scale (1).
  const sumGradient = B * ((paramCount + 1) * 1 + (S * M + 1) + paramCount * (S * M * (2 * T + 1) + 1));
  const adam = B * paramCount * ADAM;
  const total = drive + sample + logJoint + backward + sumWeights + sumGradient + adam;
  return { drive, sample, logJoint, backward, sumWeights, sumGradient, adam, total };
}

/** Flops of the FMA peak kernel (bench/kernels/fma_peak.wgsl): threads x iterations x chains x 4 lanes x 2. */
export function fmaPeakFlops(threads: number, iterations: number, chains: number): number {
  return threads * iterations * chains * 4 * 2;
}
