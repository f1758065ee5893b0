// The TensorFlow.js baseline of the benchmark: the same POGLM as the WGSL engine (docs/gradients.md and
// src/reference/model.ts), written the way a competent tfjs user would write it, with gradients by tf autodiff.
//
// Shapes. Everything is vectorised over sequences and Monte Carlo samples: per-sequence quantities are
// [S, T, ...] tensors (computed once per sequence, not per sample) and broadcast against per-sample ones shaped
// [S, M, T, ...]. F and FB have no JS loop at all; FS is sequential in time (g[t] reads the hidden spikes already
// drawn), so its sampler is a JS loop over the T bins, vectorised over sequences and samples inside each bin.
//
// Convolutions. The spike-history filter is a tf.conv1d with a "diagonal" filter [L+1, C, C] (each channel convolved
// with itself): for the causal one the taps are the reversed basis followed by a zero tap for lag 0 and the input is
// left-padded by L zeros; for the anti-causal one the taps are a zero tap followed by the basis and the input is
// right-padded. conv1d rather than a [T, T] banded matmul because it costs L*C per output instead of T, and
// rather than a per-channel conv because the diagonal filter needs no transposes; tf autodiff differentiates it.
//
// Estimators (exactly the conventions of src/reference/model.ts, so that the race is between equals):
// - Pathwise methods (gs-pathwise, exponential, Rayleigh, half-normal): the objective is mean_m w_m with
//   w_m = ln p(X, Z_m) - ln q(Z_m), Z_m reparameterised from the base noise; tf.grads differentiates straight through
//   the samples (and, for FS, back through the loop over time).
// - Score methods (Poisson, categorical, gs-score): the samples are drawn *outside* the gradient tape (so they are
//   constants: tfjs has no stopGradient op, and running the sampler before tf.valueAndGrad/tf.variableGrads is the
//   idiomatic way to hold them fixed). The taped part is then fully vectorised, FS included (its ln q only needs the
//   convolution of the fixed hidden spikes). The objective is the spec's surrogate
//   mean_m[ln p - sg(ln p) + sg(w_m)(ln q - sg(ln q)) + sg(w_m)], whose value is the ELBO and whose gradient is
//   grad ln p + w_m grad ln q; sg is a tf.customGrad identity with a zero gradient.
// - One term that cancels exactly in w is left out of both ln p and ln q: -lgamma(z+1) of a Poisson-distributed
//   hidden count (tfjs has no lgamma op; z is a constant sample), so for the Poisson method ln p and ln q are each
//   off by the same constant while w, the ELBO and every gradient are exact. Everything else is the literal formula of the spec,
//   EPS = 1e-8 included, and the visible lgamma(x+1) terms enter the ELBO as a precomputed per-sequence constant.
//
// Training step: forward, tf.variableGrads of -ELBO (the loss of the spec), then Adam. tf.train.adam has PyTorch's
// bias-corrected update (m_hat / (sqrt(v_hat) + eps)) but defaults eps to the backend's epsilon (1e-7), so eps = 1e-8
// is passed explicitly. The spec's two learning rates (0.05 for theta, 0.1 for phi) are two optimizers, one per
// parameter group, both fed from the one variableGrads call.
import type * as tfc from '@tensorflow/tfjs-core';
import { logFactorialInteger } from '../../src/model/math.js';
import type { ParamLayout } from '../../src/model/params.js';
import { EPS, resolveMethod, type Method, type ResolvedMethod } from '../../src/model/types.js';

/** The tfjs namespace (from '@tensorflow/tfjs' or '@tensorflow/tfjs-core'); the caller picks the backend. */
export type Tf = typeof tfc;
type Tensor = tfc.Tensor;
type Tensor1D = tfc.Tensor1D;
type Tensor2D = tfc.Tensor2D;
type Scalar = tfc.Scalar;
type Variable = tfc.Variable;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const SQRT_PI_OVER_2 = Math.sqrt(Math.PI / 2);
const HALF_NORMAL_CONSTANT = Math.log(2) / 2 - Math.log(Math.PI) / 2;
/**
 * Terms of the Poisson CDF evaluated when sampling by inversion. Every mean in the model is a sigmoid (<= 1), and
 * P(k >= 20) <= 1/20! ~ 4e-19 is far below the resolution of an f32 uniform, so the inversion never reaches the
 * reference's cap of 64: the count is the number of CDF terms that u reaches.
 */
const POISSON_TERMS = 20;
/** Smallest mean whose log the Poisson sampler takes (a sigmoid can underflow to 0 in f32; 0 * ln 0 would be NaN). */
const TINY_MEAN = 1e-30;

export interface TfjsPoglmOptions {
  layout: ParamLayout;
  /** psi[0..L-1]: psi[l-1] weighs lag l. */
  basis: number[];
  method: ResolvedMethod | Method;
  /** x[s][t][v]: every sequence has the same number of bins. */
  sequences: number[][][];
  /** Monte Carlo samples M per sequence. */
  samples: number;
  /** Adam learning rates; default the spec's 0.05 (theta) and 0.1 (phi). */
  learningRates?: { theta: number; phi: number };
  /** Initial parameters (flat layout of src/model/params.ts); default all zero. */
  params?: ArrayLike<number>;
  /** Seed of the noise that trainingStep draws (with tf.random*) when it is given none. */
  seed?: number;
}

export interface TfjsElboResult {
  /** Mean over sequences and samples of w. */
  elbo: number;
  /** w[s * M + m]. */
  weights: Float32Array;
  /** Gradient of the ELBO (score methods: of the surrogate) on the flat layout of src/model/params.ts. */
  gradient: Float32Array;
}

export interface TrainingStepOptions {
  /** Indices of the minibatch's sequences; default every sequence. */
  batch?: readonly number[];
  /**
   * Base noise [s][m][t][h][k] for the minibatch; default tf.randomUniform / randomNormal, which tfjs-core fills in
   * JavaScript on the host and uploads, on every backend (it is how tfjs code draws random numbers).
   */
  noise?: Float32Array;
  /** Read the ELBO back (a sync point); default true. With false the step only enqueues work and resolves undefined. */
  read?: boolean;
}

export interface TfjsPoglm {
  readonly layout: ParamLayout;
  readonly method: ResolvedMethod;
  readonly sequenceCount: number;
  readonly bins: number;
  readonly samples: number;
  /** Number of floats of base noise for `sequences` sequences: sequences * M * T * H * (1 or K). */
  noiseLength(sequences?: number): number;
  /** The ELBO and its gradient at `params` over every sequence, for the given base noise [s][m][t][h][k]. */
  elboAndGradient(params: ArrayLike<number>, noise: Float32Array): Promise<TfjsElboResult>;
  /** Sets the trained parameters (flat layout) and restarts Adam. */
  setParams(params: ArrayLike<number>): void;
  getParams(): Promise<Float32Array>;
  /** One training step: forward, gradients, Adam. Resolves the minibatch ELBO before the update. */
  trainingStep(options?: TrainingStepOptions): Promise<number | undefined>;
  /** Frees every tensor, variable and optimizer this model holds. */
  dispose(): void;
}

interface Params {
  /** N x N, row = receiving neuron. */
  W: Tensor2D;
  b: Tensor1D;
  /** H x V (F, FB) or H x N (FS). */
  Af: Tensor2D;
  /** H x V, FB only. */
  Ab?: Tensor2D;
  bq: Tensor1D;
}

/** Per-sequence constants of a minibatch. */
interface Data {
  /** [S, T, V] counts, causal and anti-causal convolutions. */
  x: Tensor;
  cx: Tensor;
  rx: Tensor;
  /** [S]: sum over t, v of lgamma(x + 1). */
  logFactorials: Tensor1D;
}

/** Hidden samples: the value the distribution scores (z, one-hot z, or ln y) and the count entering the convolution. */
interface Draw {
  /** [S, M, T, H] (z) or [S, M, T, H, K] (one-hot categorical z, or ln y for Gumbel-Softmax). */
  sample: Tensor;
  /** [S, M, T, H]. */
  counts: Tensor;
}

let instances = 0;

export function createTfjsPoglm(tf: Tf, options: TfjsPoglmOptions): TfjsPoglm {
  const method = typeof options.method === 'string' ? resolveMethod(options.method) : options.method;
  const { layout, basis } = options;
  const { visible: V, hidden: H, neurons: N, scheme, forwardColumns } = layout;
  const M = options.samples;
  const L = basis.length;
  const K = method.categories;
  const tau = method.tau;
  const pathwise = method.info.estimator === 'pathwise';
  const noiseWidth = method.noiseWidth;
  const sequenceCount = options.sequences.length;
  if (sequenceCount === 0) throw new Error('createTfjsPoglm needs at least one sequence');
  if (!Number.isInteger(M) || M < 1) throw new Error(`samples ${M} must be a positive integer`);
  if (H < 1) throw new Error('the tfjs baseline needs at least one hidden neuron');
  const T = options.sequences[0].length;
  options.sequences.forEach((x, s) => {
    if (x.length !== T) throw new Error(`sequence ${s} has ${x.length} bins; the tfjs baseline needs ${T} in every sequence`);
    x.forEach((row, t) => {
      if (row.length !== V) throw new Error(`sequence ${s} bin ${t} has ${row.length} neurons, expected ${V}`);
    });
  });
  const id = instances++;

  // ---- constants: data, filters, small tables ----
  const diagonalFilter = (taps: number[], channels: number): Tensor => {
    const values = new Float32Array(taps.length * channels * channels);
    taps.forEach((tap, j) => {
      for (let c = 0; c < channels; c++) values[(j * channels + c) * channels + c] = tap;
    });
    return tf.tensor3d(values, [taps.length, channels, channels]);
  };
  // Causal: out[t] = sum_j taps[j] x[t + j - L] over the left-padded input, taps = [psi[L-1], ..., psi[0], 0].
  const causalTaps = [...basis].reverse().concat([0]);
  // Anti-causal: out[t] = sum_j taps[j] x[t + j] over the right-padded input, taps = [0, psi[0], ..., psi[L-1]].
  const antiCausalTaps = [0, ...basis];
  const hiddenFilter = diagonalFilter(causalTaps, H);
  const causal = (input: Tensor, filter: Tensor): Tensor =>
    tf.conv1d(tf.pad(input, [[0, 0], [L, 0], [0, 0]]) as tfc.Tensor3D, filter as tfc.Tensor3D, 1, 'valid');
  const antiCausal = (input: Tensor, filter: Tensor): Tensor =>
    tf.conv1d(tf.pad(input, [[0, 0], [0, L], [0, 0]]) as tfc.Tensor3D, filter as tfc.Tensor3D, 1, 'valid');

  const allData: Data = tf.tidy(() => {
    const flat = new Float32Array(sequenceCount * T * V);
    const logFactorials = new Float32Array(sequenceCount);
    options.sequences.forEach((x, s) => {
      let total = 0;
      x.forEach((row, t) =>
        row.forEach((count, v) => {
          flat[(s * T + t) * V + v] = count;
          total += logFactorialInteger(count);
        }),
      );
      logFactorials[s] = total;
    });
    const x = tf.tensor3d(flat, [sequenceCount, T, V]);
    return {
      x,
      cx: causal(x, diagonalFilter(causalTaps, V)),
      rx: antiCausal(x, diagonalFilter(antiCausalTaps, V)),
      logFactorials: tf.tensor1d(logFactorials),
    };
  });
  // k = 1..K-1 and lgamma(k+1) for the truncated Poisson; k = 0..K-1 for the Gumbel-Softmax count; j and lgamma(j+1)
  // for the Poisson CDF. Held as [1, n] rows, not 1-D vectors: tfjs-backend-webgpu 4.22 compiles a binary op between
  // a rank-5 tensor and a short 1-D one into invalid WGSL ("cannot index type 'vec5'"), a [1, n] row takes its
  // general broadcasting path.
  const row = (values: number[]): Tensor => tf.tensor2d(values, [1, values.length]);
  const categoryIndex = row(Array.from({ length: K - 1 }, (_, k) => k + 1));
  const categoryLogFactorial = row(Array.from({ length: K - 1 }, (_, k) => logFactorialInteger(k + 1)));
  const countWeights = row(Array.from({ length: K }, (_, k) => k));
  const poissonIndex = row(Array.from({ length: POISSON_TERMS }, (_, j) => j));
  const poissonLogFactorial = row(Array.from({ length: POISSON_TERMS }, (_, j) => logFactorialInteger(j)));
  const concreteConstant = logFactorialInteger(K - 1) + (K - 1) * Math.log(tau);
  const constants: Tensor[] = [hiddenFilter, categoryIndex, categoryLogFactorial, countWeights, poissonIndex, poissonLogFactorial];

  // ---- small helpers ----
  /** a[..., C] @ b[C, D] -> [..., D]. */
  const matmulLast = (a: Tensor, b: Tensor): Tensor => {
    const shape: number[] = a.shape;
    const product = tf.matMul(tf.reshape(a, [-1, shape[shape.length - 1]]) as Tensor2D, b as Tensor2D);
    return tf.reshape(product, [...shape.slice(0, -1), b.shape[1] as number]);
  };
  const stopGradient = tf.customGrad((...args: unknown[]) => {
    const x = args[0] as Tensor;
    return { value: tf.clone(x), gradFunc: (dy: Tensor) => tf.zerosLike(dy) };
  }) as (x: Tensor) => Tensor;
  /** Cumulative sum over the last axis, taken on a [rows, n] view: tfjs-backend-webgpu's cumsum stops at rank 4. */
  const cumsumLast = (x: Tensor): Tensor => {
    const n = x.shape[x.rank - 1];
    return tf.reshape(tf.cumsum(tf.reshape(x, [-1, n]), 1), x.shape);
  };

  /** ln pi[..., K] of the truncated Poisson with mean m[...]: k ln(m+EPS) - m - lgamma(k+1); ln pi[0] takes the rest. */
  const truncatedPoissonLogProbs = (mean: Tensor): Tensor => {
    const m = tf.expandDims(mean, -1);
    const rest = tf.sub(tf.sub(tf.mul(tf.log(tf.add(m, EPS)), categoryIndex), m), categoryLogFactorial);
    const head = tf.log(tf.sub(1, tf.sum(tf.exp(rest), -1, true)));
    return tf.concat([head, rest], -1);
  };

  /** LL_D(sample; par(mean)), elementwise over [S, M, T, H] (mean broadcasts from [S, 1, T, H]). */
  const logLikelihood = (sample: Tensor, mean: Tensor): Tensor => {
    switch (method.method) {
      case 'poisson':
        // z ln(m + EPS) - m; the -lgamma(z+1) of the constant sample cancels between ln p and ln q.
        return tf.sub(tf.mul(sample, tf.log(tf.add(mean, EPS))), mean);
      case 'categorical':
        // ln pi[min(z, K-1)], the sample held as a one-hot row.
        return tf.sum(tf.mul(sample, truncatedPoissonLogProbs(mean)), -1);
      case 'gs-score':
      case 'gs-pathwise': {
        // Concrete density: lgamma(K) + (K-1) ln tau - K logsumexp(ln pi - tau ln y) + sum(ln pi - (tau+1) ln y).
        const logProbs = truncatedPoissonLogProbs(mean);
        const spread = tf.mul(tf.logSumExp(tf.sub(logProbs, tf.mul(sample, tau)), -1), -K);
        const linear = tf.sum(tf.sub(logProbs, tf.mul(sample, tau + 1)), -1);
        return tf.add(tf.add(spread, linear), concreteConstant);
      }
      case 'exponential': {
        const scale = tf.add(mean, EPS);
        return tf.neg(tf.add(tf.log(scale), tf.div(sample, scale)));
      }
      case 'rayleigh': {
        const s = tf.add(tf.mul(mean, SQRT_2_OVER_PI), EPS);
        return tf.sub(
          tf.sub(tf.log(tf.add(sample, EPS)), tf.mul(tf.log(s), 2)),
          tf.div(tf.square(sample), tf.mul(tf.square(s), 2)),
        );
      }
      case 'half-normal': {
        const s = tf.add(tf.mul(mean, SQRT_PI_OVER_2), EPS);
        return tf.sub(tf.sub(HALF_NORMAL_CONSTANT, tf.log(s)), tf.div(tf.square(sample), tf.mul(tf.square(s), 2)));
      }
    }
  };

  /**
   * What the base noise contributes to a sample, computed once per step: -ln(1-u) (exponential), the Rayleigh and
   * half-normal factors, or the raw uniforms / Gumbels.
   */
  const noiseFactor = (noise: Tensor): Tensor => {
    switch (method.method) {
      case 'exponential':
        return tf.neg(tf.log(tf.sub(1, noise)));
      case 'rayleigh':
        return tf.mul(tf.sqrt(tf.mul(tf.log(tf.sub(1, noise)), -2)), SQRT_2_OVER_PI);
      case 'half-normal':
        return tf.mul(tf.abs(noise), SQRT_PI_OVER_2);
      default:
        return noise;
    }
  };

  /** A sample with mean `mean` from base noise (factor = noiseFactor(noise)); shapes broadcast. */
  const draw = (mean: Tensor, factor: Tensor): Draw => {
    switch (method.method) {
      case 'poisson': {
        // Smallest k with u < CDF(k): the number of CDF terms that u reaches.
        const m = tf.expandDims(mean, -1);
        const logTerms = tf.sub(tf.sub(tf.mul(tf.log(tf.maximum(m, TINY_MEAN)), poissonIndex), m), poissonLogFactorial);
        const cdf = cumsumLast(tf.exp(logTerms));
        const counts = tf.sum(tf.cast(tf.greaterEqual(tf.expandDims(factor, -1), cdf), 'float32'), -1);
        return { sample: counts, counts };
      }
      case 'categorical': {
        const logProbs = truncatedPoissonLogProbs(mean);
        const head = tf.slice(logProbs, new Array(logProbs.rank).fill(0), [...logProbs.shape.slice(0, -1), K - 1]);
        const cdf = cumsumLast(tf.exp(head));
        const counts = tf.sum(tf.cast(tf.greaterEqual(tf.expandDims(factor, -1), cdf), 'float32'), -1);
        return { sample: tf.oneHot(tf.cast(counts, 'int32'), K), counts };
      }
      case 'gs-score':
      case 'gs-pathwise': {
        // ln y = log-softmax((ln pi + g) / tau); the count is sum_k k y[k].
        const logY = tf.logSoftmax(tf.div(tf.add(truncatedPoissonLogProbs(mean), factor), tau));
        return { sample: logY, counts: tf.sum(tf.mul(tf.exp(logY), countWeights), -1) };
      }
      default: {
        const z = tf.mul(mean, factor);
        return { sample: z, counts: z };
      }
    }
  };

  /** g[s][t][h] from the data alone: bq + Af_v cx (+ Ab rx for FB), per sequence. */
  const dataDrive = (p: Params, data: Data): Tensor => {
    const forwardVisible = scheme === 'FS' ? tf.slice(p.Af, [0, 0], [H, V]) : p.Af;
    let drive = matmulLast(data.cx, tf.transpose(forwardVisible));
    if (scheme === 'FB') drive = tf.add(drive, matmulLast(data.rx, tf.transpose(p.Ab!)));
    return tf.add(drive, p.bq);
  };

  /** FS's sampler: a loop over bins, each bin vectorised over sequences and samples. */
  const forwardSelf = (p: Params, data: Data, factor: Tensor): Draw & { mean: Tensor; cz: Tensor } => {
    const S = data.x.shape[0];
    const selfWeightT = tf.transpose(tf.slice(p.Af, [0, V], [H, H]));
    const driveByBin = tf.unstack(dataDrive(p, data), 1); // T x [S, H]
    const noiseByBin = tf.unstack(factor, 2); // T x [S, M, H(, K)]
    const zeros = tf.zeros([S, M, H]);
    const means: Tensor[] = [];
    const samples: Tensor[] = [];
    const counts: Tensor[] = [];
    const histories: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const terms: Tensor[] = [];
      for (let l = 1; l <= L && t - l >= 0; l++) terms.push(tf.mul(counts[t - l], basis[l - 1]));
      const cz = terms.length === 0 ? zeros : terms.length === 1 ? terms[0] : tf.addN(terms);
      const mean = tf.sigmoid(tf.add(tf.expandDims(driveByBin[t], 1), matmulLast(cz, selfWeightT)));
      const bin = draw(mean, noiseByBin[t]);
      means.push(mean);
      samples.push(bin.sample);
      counts.push(bin.counts);
      histories.push(cz);
    }
    return {
      mean: tf.stack(means, 2),
      sample: tf.stack(samples, 2),
      counts: tf.stack(counts, 2),
      cz: tf.stack(histories, 2),
    };
  };

  /** Convolved hidden spikes cz [S, M, T, H] of counts [S, M, T, H]. */
  const convolveHidden = (counts: Tensor): Tensor => {
    const S = counts.shape[0] as number;
    return tf.reshape(causal(tf.reshape(counts, [S * M, T, H]), hiddenFilter), [S, M, T, H]);
  };

  /** Score methods: the samples, drawn outside any gradient tape (so they are constants). */
  const drawFixed = (p: Params, data: Data, noise: Tensor): Draw => {
    const factor = noiseFactor(noise);
    if (scheme === 'FS') {
      const { sample, counts } = forwardSelf(p, data, factor);
      return { sample, counts };
    }
    return draw(tf.expandDims(tf.sigmoid(dataDrive(p, data)), 1), factor);
  };

  /** The objective (value = ELBO) and the weights w[s][m]. `fixed`: the score methods' constant samples. */
  const evaluate = (p: Params, data: Data, noise: Tensor, fixed?: Draw): { objective: Scalar; weights: Tensor } => {
    let mean: Tensor;
    let sample: Tensor;
    let cz: Tensor;
    if (fixed) {
      sample = fixed.sample;
      cz = convolveHidden(fixed.counts);
      const drive = tf.expandDims(dataDrive(p, data), 1);
      mean =
        scheme === 'FS'
          ? tf.sigmoid(tf.add(drive, matmulLast(cz, tf.transpose(tf.slice(p.Af, [0, V], [H, H])))))
          : tf.sigmoid(drive);
    } else if (scheme === 'FS') {
      ({ mean, sample, cz } = forwardSelf(p, data, noiseFactor(noise)));
    } else {
      mean = tf.expandDims(tf.sigmoid(dataDrive(p, data)), 1); // [S, 1, T, H]
      const drawn = draw(mean, noiseFactor(noise));
      sample = drawn.sample;
      cz = convolveHidden(drawn.counts);
    }
    // Generative rates: a = cx Wv^T (per sequence) + cz Wh^T (per sample) + b.
    const weightT = tf.transpose(p.W); // [sending, receiving]
    const fromData = tf.expandDims(tf.add(matmulLast(data.cx, tf.slice(weightT, [0, 0], [V, N])), p.b), 1);
    const rates = tf.sigmoid(tf.add(fromData, matmulLast(cz, tf.slice(weightT, [V, 0], [H, N])))); // [S, M, T, N]
    const visibleRates = tf.slice(rates, [0, 0, 0, 0], [-1, -1, -1, V]);
    const hiddenRates = tf.slice(rates, [0, 0, 0, V], [-1, -1, -1, H]);
    const visible = tf.sub(
      tf.sum(tf.sub(tf.mul(tf.expandDims(data.x, 1), tf.log(tf.add(visibleRates, EPS))), visibleRates), [2, 3]),
      tf.expandDims(data.logFactorials, 1),
    );
    const logJoint = tf.add(visible, tf.sum(logLikelihood(sample, hiddenRates), [2, 3])); // [S, M]
    const logQ = tf.sum(logLikelihood(sample, mean), [2, 3]);
    const weights = tf.sub(logJoint, logQ);
    if (pathwise) return { objective: tf.mean(weights) as Scalar, weights };
    const frozenWeights = stopGradient(weights);
    const surrogate = tf.add(
      tf.add(tf.sub(logJoint, stopGradient(logJoint)), tf.mul(frozenWeights, tf.sub(logQ, stopGradient(logQ)))),
      frozenWeights,
    );
    return { objective: tf.mean(surrogate) as Scalar, weights };
  };

  const paramsFromFlat = (flat: Tensor1D): Params => ({
    W: tf.reshape(tf.slice(flat, layout.weightOffset, N * N), [N, N]) as Tensor2D,
    b: tf.slice(flat, layout.biasOffset, N),
    Af: tf.reshape(tf.slice(flat, layout.forwardOffset, H * forwardColumns), [H, forwardColumns]) as Tensor2D,
    Ab: scheme === 'FB' ? (tf.reshape(tf.slice(flat, layout.backwardOffset, H * V), [H, V]) as Tensor2D) : undefined,
    bq: tf.slice(flat, layout.variationalBiasOffset, H),
  });

  const noiseShape = (sequences: number): number[] =>
    noiseWidth === 1 ? [sequences, M, T, H] : [sequences, M, T, H, noiseWidth];
  const noiseLength = (sequences = sequenceCount): number => sequences * M * T * H * noiseWidth;
  const noiseTensor = (noise: Float32Array, sequences: number): Tensor => {
    if (noise.length !== noiseLength(sequences)) {
      throw new Error(`noise has ${noise.length} values; [${noiseShape(sequences).join(', ')}] needs ${noiseLength(sequences)}`);
    }
    return tf.tensor(noise, noiseShape(sequences));
  };
  const checkParams = (params: ArrayLike<number>): Float32Array => {
    if (params.length !== layout.total) throw new Error(`params has ${params.length} entries, the layout needs ${layout.total}`);
    return Float32Array.from(params);
  };

  // ---- training state: one variable per parameter block, two Adam optimizers ----
  const initial = options.params ? checkParams(options.params) : new Float32Array(layout.total);
  const named = (name: string, value: Tensor): Variable => tf.variable(value, true, `poglm-tfjs-${id}/${name}`);
  const variables: Params = tf.tidy(() => {
    const view = paramsFromFlat(tf.tensor1d(initial));
    return {
      W: named('W', view.W) as unknown as Tensor2D,
      b: named('b', view.b) as unknown as Tensor1D,
      Af: named('Af', view.Af) as unknown as Tensor2D,
      Ab: view.Ab ? (named('Ab', view.Ab) as unknown as Tensor2D) : undefined,
      bq: named('bq', view.bq) as unknown as Tensor1D,
    };
  });
  const thetaVariables = [variables.W, variables.b] as unknown as Variable[];
  const phiVariables = [variables.Af, variables.Ab, variables.bq].filter((v) => v !== undefined) as unknown as Variable[];
  const rates = options.learningRates ?? { theta: 0.05, phi: 0.1 };
  const makeOptimizers = () => ({
    theta: tf.train.adam(rates.theta, 0.9, 0.999, 1e-8),
    phi: tf.train.adam(rates.phi, 0.9, 0.999, 1e-8),
  });
  let optimizers = makeOptimizers();
  const seedBase = options.seed ?? 0;
  let step = 0;
  let disposed = false;
  const checkAlive = () => {
    if (disposed) throw new Error('this tfjs POGLM was disposed');
  };

  const batchData = (batch: readonly number[] | undefined): Data => {
    if (!batch) return allData;
    batch.forEach((s) => {
      if (!Number.isInteger(s) || s < 0 || s >= sequenceCount) throw new Error(`batch index ${s} is not a sequence (0..${sequenceCount - 1})`);
    });
    const indices = tf.tensor1d(Int32Array.from(batch), 'int32');
    return {
      x: tf.gather(allData.x, indices),
      cx: tf.gather(allData.cx, indices),
      rx: tf.gather(allData.rx, indices),
      logFactorials: tf.gather(allData.logFactorials, indices),
    };
  };

  const deviceNoise = (sequences: number): Tensor => {
    const shape = noiseShape(sequences);
    const seed = seedBase * 1_000_003 + step;
    switch (method.info.noise) {
      case 'normal':
        return tf.randomNormal(shape, 0, 1, 'float32', seed);
      case 'gumbel':
        return tf.neg(tf.log(tf.neg(tf.log(tf.randomUniform(shape, 1e-7, 1, 'float32', seed)))));
      default:
        return tf.randomUniform(shape, 0, 1, 'float32', seed);
    }
  };

  return {
    layout,
    method,
    sequenceCount,
    bins: T,
    samples: M,
    noiseLength,

    async elboAndGradient(params, noise) {
      checkAlive();
      const flatParams = checkParams(params);
      let kept: Tensor | undefined;
      const { elbo, gradient } = tf.tidy(() => {
        const flat = tf.tensor1d(flatParams);
        const noiseValues = noiseTensor(noise, sequenceCount);
        const fixed = pathwise ? undefined : drawFixed(paramsFromFlat(flat), allData, noiseValues);
        const { value, grad } = tf.valueAndGrad((f: Tensor) => {
          const result = evaluate(paramsFromFlat(f as Tensor1D), allData, noiseValues, fixed);
          kept = tf.keep(tf.reshape(result.weights, [-1]));
          return result.objective;
        })(flat);
        return { elbo: value, gradient: grad };
      });
      try {
        const [elboValue, gradientValues, weightValues] = await Promise.all([elbo.data(), gradient.data(), kept!.data()]);
        return {
          elbo: elboValue[0],
          weights: Float32Array.from(weightValues as Float32Array),
          gradient: Float32Array.from(gradientValues as Float32Array),
        };
      } finally {
        tf.dispose([elbo, gradient, kept!]);
      }
    },

    setParams(params) {
      checkAlive();
      const flatParams = checkParams(params);
      tf.tidy(() => {
        const view = paramsFromFlat(tf.tensor1d(flatParams));
        const values: Tensor[] = [view.W, view.b, view.Af, ...(view.Ab ? [view.Ab] : []), view.bq];
        [...thetaVariables, ...phiVariables].forEach((variable, i) => variable.assign(values[i]));
      });
      optimizers.theta.dispose();
      optimizers.phi.dispose();
      optimizers = makeOptimizers();
    },

    async getParams() {
      checkAlive();
      // theta then phi, each in layout order: W, b, Af, (Ab), bq.
      const flat = tf.tidy(() => tf.concat([...thetaVariables, ...phiVariables].map((v) => tf.reshape(v, [-1]))));
      try {
        return Float32Array.from((await flat.data()) as Float32Array);
      } finally {
        flat.dispose();
      }
    },

    async trainingStep(stepOptions = {}) {
      checkAlive();
      const batchSize = stepOptions.batch?.length ?? sequenceCount;
      const loss = tf.tidy(() => {
        const data = batchData(stepOptions.batch);
        const noise = stepOptions.noise ? noiseTensor(stepOptions.noise, batchSize) : deviceNoise(batchSize);
        const fixed = pathwise ? undefined : drawFixed(variables, data, noise);
        const { value, grads } = tf.variableGrads(
          () => tf.neg(evaluate(variables, data, noise, fixed).objective) as Scalar,
          [...thetaVariables, ...phiVariables],
        );
        optimizers.theta.applyGradients(thetaVariables.map((v) => ({ name: v.name, tensor: grads[v.name] })));
        optimizers.phi.applyGradients(phiVariables.map((v) => ({ name: v.name, tensor: grads[v.name] })));
        return value;
      });
      step++;
      if (stepOptions.read === false) {
        loss.dispose();
        return undefined;
      }
      try {
        return -(await loss.data())[0];
      } finally {
        loss.dispose();
      }
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      optimizers.theta.dispose();
      optimizers.phi.dispose();
      tf.dispose([...thetaVariables, ...phiVariables]);
      tf.dispose([allData.x, allData.cx, allData.rx, allData.logFactorials, ...constants]);
    },
  };
}
