// The POGLM in float64: the generative model's rates and ln p, the variational model's samples and ln q, the ELBO,
// and its gradient derived by hand (pathwise and score-function), on the flat parameter vector of
// src/model/params.ts. This is the twin every GPU kernel is tested against, and its gradients are themselves checked
// by finite differences. Plain loops, one sequence and one sample at a time: clarity over speed.
import type { ParamLayout } from '../model/params.js';
import { EPS, type ResolvedMethod } from '../model/types.js';
import { convolveAntiCausal, convolveCausal } from './basis.js';
import {
  countGradient,
  countOf,
  logLikelihood,
  logLikelihoodMeanDerivative,
  logLikelihoodSampleGradient,
  sampleFromNoise,
  sampleMeanVjp,
} from './distributions.js';
import { logFactorial, sigmoid } from './special.js';

export interface ReferenceModel {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
}

/** Everything the forward pass of one sequence and one sample produces. */
export interface SampleTrace {
  cx: number[][];
  rx: number[][];
  /** Variational pre-activations g[t][h] and means mu[t][h]. */
  g: number[][];
  mu: number[][];
  /** samples[t][h] = [z] or ln y[0..K-1]. */
  samples: number[][][];
  /** Counts z[t][h] entering the convolution. */
  counts: number[][];
  cz: number[][];
  /** Generative rates lambda[t][n]. */
  lambda: number[][];
  logJoint: number;
  logQ: number;
  weight: number;
}

const at = (flat: ArrayLike<number>, offset: number, columns: number, row: number, column: number): number =>
  flat[offset + row * columns + column];

/** Poisson log-likelihood of the visible counts, lgamma term included. */
export function poissonLogLikelihood(count: number, rate: number): number {
  return count * Math.log(rate + EPS) - rate - logFactorial(count);
}

/** Rates lambda[t][n] = sigma(b[n] + sum_m W[n][m] c[t][m]) for convolved spikes c = [cx, cz]. */
export function firingRates(layout: ParamLayout, params: ArrayLike<number>, cx: number[][], cz: number[][]): number[][] {
  const N = layout.neurons;
  return cx.map((visibleRow, t) => {
    const c = [...visibleRow, ...cz[t]];
    return Array.from({ length: N }, (_, n) => {
      let drive = params[layout.biasOffset + n];
      for (let m = 0; m < N; m++) drive += at(params, layout.weightOffset, N, n, m) * c[m];
      return sigmoid(drive);
    });
  });
}

/** ln p(X, Z): Poisson for the visible counts, the method's D for the hidden samples at their rates. */
export function logJoint(
  model: ReferenceModel,
  params: ArrayLike<number>,
  x: number[][],
  samples: number[][][],
): { value: number; lambda: number[][]; cz: number[][]; counts: number[][] } {
  const { layout, basis, method } = model;
  const counts = samples.map((row) => row.map((sample) => countOf(method, sample)));
  const cx = convolveCausal(x, basis);
  const cz = convolveCausal(counts, basis);
  const lambda = firingRates(layout, params, cx, cz);
  let value = 0;
  x.forEach((row, t) => {
    row.forEach((count, v) => (value += poissonLogLikelihood(count, lambda[t][v])));
    samples[t].forEach((sample, h) => (value += logLikelihood(method, sample, lambda[t][layout.visible + h])));
  });
  return { value, lambda, cz, counts };
}

/** Runs q forward from base noise (noise[t][h] = values for one unit) and scores the sample under p and q. */
export function traceSample(
  model: ReferenceModel,
  params: ArrayLike<number>,
  x: number[][],
  noise: number[][][],
): SampleTrace {
  const { layout, basis, method } = model;
  const { visible: V, hidden: H, forwardColumns } = layout;
  const bins = x.length;
  const cx = convolveCausal(x, basis);
  const rx = convolveAntiCausal(x, basis);
  const g: number[][] = [];
  const mu: number[][] = [];
  const samples: number[][][] = [];
  const counts: number[][] = [];
  for (let t = 0; t < bins; t++) {
    // FS needs the convolved hidden history of the samples already drawn.
    const czNow = new Array<number>(H).fill(0);
    if (layout.scheme === 'FS') {
      for (let l = 1; l <= basis.length && t - l >= 0; l++) {
        for (let h = 0; h < H; h++) czNow[h] += basis[l - 1] * counts[t - l][h];
      }
    }
    const gRow: number[] = [];
    const muRow: number[] = [];
    const sampleRow: number[][] = [];
    const countRow: number[] = [];
    for (let h = 0; h < H; h++) {
      let drive = params[layout.variationalBiasOffset + h];
      for (let v = 0; v < V; v++) drive += at(params, layout.forwardOffset, forwardColumns, h, v) * cx[t][v];
      if (layout.scheme === 'FB') {
        for (let v = 0; v < V; v++) drive += at(params, layout.backwardOffset, V, h, v) * rx[t][v];
      }
      if (layout.scheme === 'FS') {
        for (let k = 0; k < H; k++) drive += at(params, layout.forwardOffset, forwardColumns, h, V + k) * czNow[k];
      }
      const mean = sigmoid(drive);
      const sample = sampleFromNoise(method, mean, noise[t][h]);
      gRow.push(drive);
      muRow.push(mean);
      sampleRow.push(sample);
      countRow.push(countOf(method, sample));
    }
    g.push(gRow);
    mu.push(muRow);
    samples.push(sampleRow);
    counts.push(countRow);
  }
  const joint = logJoint(model, params, x, samples);
  let logQ = 0;
  samples.forEach((row, t) => row.forEach((sample, h) => (logQ += logLikelihood(method, sample, mu[t][h]))));
  return {
    cx,
    rx,
    g,
    mu,
    samples,
    counts,
    cz: joint.cz,
    lambda: joint.lambda,
    logJoint: joint.value,
    logQ,
    weight: joint.value - logQ,
  };
}

/** dJ/da for J = ln p: visible Poisson and hidden D terms through the rates. */
function generativeDeltas(model: ReferenceModel, x: number[][], trace: SampleTrace): number[][] {
  const { layout, method } = model;
  return trace.lambda.map((rates, t) =>
    rates.map((rate, n) => {
      const slope = rate * (1 - rate);
      if (n < layout.visible) return (x[t][n] / (rate + EPS) - 1) * slope;
      return logLikelihoodMeanDerivative(method, trace.samples[t][n - layout.visible], rate) * slope;
    }),
  );
}

/** Adds sum_t delta[t][n] c[t][m] and sum_t delta[t][n] into the theta part of `gradient`. */
function accumulateGenerative(layout: ParamLayout, gradient: Float64Array, delta: number[][], trace: SampleTrace, scale: number): void {
  const N = layout.neurons;
  delta.forEach((row, t) => {
    const c = [...trace.cx[t], ...trace.cz[t]];
    row.forEach((d, n) => {
      gradient[layout.biasOffset + n] += scale * d;
      for (let m = 0; m < N; m++) gradient[layout.weightOffset + n * N + m] += scale * d * c[m];
    });
  });
}

/** Adds the linear maps' gradients for dJ/dg into the phi part of `gradient`. */
function accumulateVariational(layout: ParamLayout, gradient: Float64Array, dg: number[][], trace: SampleTrace, scale: number): void {
  const { visible: V, hidden: H, forwardColumns } = layout;
  dg.forEach((row, t) => {
    row.forEach((d, h) => {
      gradient[layout.variationalBiasOffset + h] += scale * d;
      for (let v = 0; v < V; v++) gradient[layout.forwardOffset + h * forwardColumns + v] += scale * d * trace.cx[t][v];
      if (layout.scheme === 'FS') {
        for (let k = 0; k < H; k++) {
          gradient[layout.forwardOffset + h * forwardColumns + V + k] += scale * d * trace.cz[t][k];
        }
      }
      if (layout.scheme === 'FB') {
        for (let v = 0; v < V; v++) gradient[layout.backwardOffset + h * V + v] += scale * d * trace.rx[t][v];
      }
    });
  });
}

/**
 * Pathwise dJ/dg for J = w = ln p - ln q through the reparameterised samples, including the reverse sweep over time
 * that FS needs (g[t] reads the convolved hidden history, so dJ/dz[t] collects dJ/dg of later bins).
 */
function pathwiseVariationalDeltas(
  model: ReferenceModel,
  params: ArrayLike<number>,
  noise: number[][][],
  trace: SampleTrace,
  delta: number[][],
): number[][] {
  const { layout, basis, method } = model;
  const { visible: V, hidden: H, neurons: N, forwardColumns } = layout;
  const bins = trace.mu.length;
  const dg = Array.from({ length: bins }, () => new Array<number>(H).fill(0));
  // dJ/dcz[t][k]: through the generative drive, plus (FS) through the variational drive.
  const czGradient = Array.from({ length: bins }, () => new Array<number>(H).fill(0));
  for (let t = bins - 1; t >= 0; t--) {
    for (let h = 0; h < H; h++) {
      let throughHistory = 0;
      for (let l = 1; l <= basis.length && t + l < bins; l++) throughHistory += basis[l - 1] * czGradient[t + l][h];
      const sample = trace.samples[t][h];
      const rate = trace.lambda[t][V + h];
      const mean = trace.mu[t][h];
      const pGradient = logLikelihoodSampleGradient(method, sample, rate);
      const qGradient = logLikelihoodSampleGradient(method, sample, mean);
      const countSlope = countGradient(method, sample);
      const upstream = countSlope.map((slope, k) => throughHistory * slope + pGradient[k] - qGradient[k]);
      const meanGradient =
        sampleMeanVjp(method, mean, noise[t][h], sample, upstream) - logLikelihoodMeanDerivative(method, sample, mean);
      dg[t][h] = meanGradient * mean * (1 - mean);
    }
    for (let k = 0; k < H; k++) {
      let total = 0;
      for (let n = 0; n < N; n++) total += delta[t][n] * at(params, layout.weightOffset, N, n, V + k);
      if (layout.scheme === 'FS') {
        for (let h = 0; h < H; h++) total += dg[t][h] * at(params, layout.forwardOffset, forwardColumns, h, V + k);
      }
      czGradient[t][k] = total;
    }
  }
  return dg;
}

/** Score-function dJ/dg of ln q (samples fixed), to be scaled by the sample's weight w. */
function scoreVariationalDeltas(model: ReferenceModel, trace: SampleTrace): number[][] {
  return trace.mu.map((row, t) =>
    row.map((mean, h) => logLikelihoodMeanDerivative(model.method, trace.samples[t][h], mean) * mean * (1 - mean)),
  );
}

export interface ElboResult {
  /** Mean over sequences of the mean over samples of w. */
  elbo: number;
  /** w[s][m]. */
  weights: number[][];
  /** Gradient of the ELBO (score methods: of the spec's surrogate) on the flat layout. */
  gradient: Float64Array;
}

/**
 * The ELBO of `sequences` (x[s][t][v]) with base noise noise[s][m][t][h][k], and its gradient with respect to every
 * parameter: mean over sequences and samples, exactly what one training step ascends.
 */
export function elboAndGradient(
  model: ReferenceModel,
  params: ArrayLike<number>,
  sequences: number[][][],
  noise: number[][][][][],
): ElboResult {
  const gradient = new Float64Array(model.layout.total);
  const weights: number[][] = [];
  let elbo = 0;
  const sampleCount = noise[0]?.length ?? 0;
  if (sequences.length === 0 || sampleCount === 0) throw new Error('elboAndGradient needs at least one sequence and one sample');
  const scale = 1 / (sequences.length * sampleCount);
  sequences.forEach((x, s) => {
    if (noise[s].length !== sampleCount) throw new Error(`noise[${s}] has ${noise[s].length} samples, expected ${sampleCount}`);
    const row: number[] = [];
    noise[s].forEach((sampleNoise) => {
      const trace = traceSample(model, params, x, sampleNoise);
      row.push(trace.weight);
      elbo += trace.weight * scale;
      const delta = generativeDeltas(model, x, trace);
      accumulateGenerative(model.layout, gradient, delta, trace, scale);
      if (model.method.info.estimator === 'pathwise') {
        const dg = pathwiseVariationalDeltas(model, params, sampleNoise, trace, delta);
        accumulateVariational(model.layout, gradient, dg, trace, scale);
      } else {
        accumulateVariational(model.layout, gradient, scoreVariationalDeltas(model, trace), trace, scale * trace.weight);
      }
    });
    weights.push(row);
  });
  return { elbo, weights, gradient };
}

/**
 * The scalar whose gradient `elboAndGradient` returns, as a function of the parameters alone — for finite
 * differences. Pathwise: the ELBO with the base noise fixed. Score: the spec's surrogate with the samples and their
 * weights frozen at `frozenAt`: mean of [ln p(X, Z; theta) + w * ln q(Z; phi)].
 */
export function objectiveForFiniteDifferences(
  model: ReferenceModel,
  frozenAt: ArrayLike<number>,
  sequences: number[][][],
  noise: number[][][][][],
): (params: ArrayLike<number>) => number {
  if (model.method.info.estimator === 'pathwise') {
    return (params) => elboAndGradient(model, params, sequences, noise).elbo;
  }
  const frozen = sequences.map((x, s) => noise[s].map((sampleNoise) => traceSample(model, frozenAt, x, sampleNoise)));
  const scale = 1 / (sequences.length * (noise[0]?.length ?? 1));
  return (params) => {
    let total = 0;
    sequences.forEach((x, s) =>
      frozen[s].forEach((trace) => {
        total += scale * logJoint(model, params, x, trace.samples).value;
        total += scale * trace.weight * logQOfSamples(model, params, x, trace.samples);
      }),
    );
    return total;
  };
}

/** ln q(Z | X) of given samples (FS reads their own history). */
export function logQOfSamples(model: ReferenceModel, params: ArrayLike<number>, x: number[][], samples: number[][][]): number {
  const { layout, basis, method } = model;
  const { visible: V, hidden: H, forwardColumns } = layout;
  const cx = convolveCausal(x, basis);
  const rx = convolveAntiCausal(x, basis);
  const counts = samples.map((row) => row.map((sample) => countOf(method, sample)));
  const cz = convolveCausal(counts, basis);
  let total = 0;
  for (let t = 0; t < x.length; t++) {
    for (let h = 0; h < H; h++) {
      let drive = params[layout.variationalBiasOffset + h];
      for (let v = 0; v < V; v++) drive += at(params, layout.forwardOffset, forwardColumns, h, v) * cx[t][v];
      if (layout.scheme === 'FB') for (let v = 0; v < V; v++) drive += at(params, layout.backwardOffset, V, h, v) * rx[t][v];
      if (layout.scheme === 'FS') {
        for (let k = 0; k < H; k++) drive += at(params, layout.forwardOffset, forwardColumns, h, V + k) * cz[t][k];
      }
      total += logLikelihood(method, samples[t][h], sigmoid(drive));
    }
  }
  return total;
}
