// The seven hidden-spike distributions of the spec in float64: sampling from base noise, log-likelihood, and every
// derivative the hand-written gradients need. A sample is an array: [z] for the count-valued and continuous
// methods, ln y[0..K-1] (a point on the simplex, in logs) for Gumbel-Softmax.
import { EPS, type ResolvedMethod } from '../model/types.js';
import { logFactorial, logGamma, logSoftmax, softmax, logSumExp } from './special.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const SQRT_PI_OVER_2 = Math.sqrt(Math.PI / 2);

/** Truncated Poisson on K categories: ln pi[k] = k ln(m+EPS) - m - lgamma(k+1), ln pi[0] = ln(1 - sum_{k>=1} pi[k]). */
export function truncatedPoissonLogProbs(mean: number, categories: number): number[] {
  const logProbs = new Array<number>(categories).fill(0);
  let rest = 0;
  for (let k = 1; k < categories; k++) {
    logProbs[k] = k * Math.log(mean + EPS) - mean - logFactorial(k);
    rest += Math.exp(logProbs[k]);
  }
  logProbs[0] = Math.log(1 - rest);
  return logProbs;
}

/** d ln pi[k] / d mean. */
export function truncatedPoissonLogProbsDerivative(mean: number, logProbs: readonly number[]): number[] {
  const categories = logProbs.length;
  const derivative = new Array<number>(categories).fill(0);
  let weighted = 0;
  for (let k = 1; k < categories; k++) {
    derivative[k] = k / (mean + EPS) - 1;
    weighted += Math.exp(logProbs[k]) * derivative[k];
  }
  derivative[0] = -weighted / Math.exp(logProbs[0]);
  return derivative;
}

/** Smallest k with u < CDF(k) of Poisson(mean); capped at 64 (unreachable for means below 1 at f32 resolution). */
export function poissonInversion(mean: number, uniform: number): number {
  let probability = Math.exp(-mean);
  let cdf = probability;
  let k = 0;
  while (uniform >= cdf && k < 64) {
    k++;
    probability *= mean / k;
    cdf += probability;
  }
  return k;
}

/** Smallest k with u < CDF(k) over exp(lnpi); the last category takes the rest. */
export function categoricalInversion(logProbs: readonly number[], uniform: number): number {
  let cdf = 0;
  for (let k = 0; k < logProbs.length - 1; k++) {
    cdf += Math.exp(logProbs[k]);
    if (uniform < cdf) return k;
  }
  return logProbs.length - 1;
}

/** Concrete (Gumbel-Softmax) log-density of ln y given ln pi and temperature tau. */
export function concreteLogDensity(logY: readonly number[], logProbs: readonly number[], tau: number): number {
  const categories = logY.length;
  const shifted = logProbs.map((lp, k) => lp - tau * logY[k]);
  let sum = 0;
  for (let k = 0; k < categories; k++) sum += logProbs[k] - (tau + 1) * logY[k];
  return logGamma(categories) + (categories - 1) * Math.log(tau) - categories * logSumExp(shifted) + sum;
}

function concreteWeights(logY: readonly number[], logProbs: readonly number[], tau: number): number[] {
  return softmax(logProbs.map((lp, k) => lp - tau * logY[k]));
}

/** The count a sample contributes to the convolution: z, or sum_k k y[k] on the simplex. */
export function countOf(method: ResolvedMethod, sample: readonly number[]): number {
  if (!method.info.gumbelSoftmax) return sample[0];
  let count = 0;
  for (let k = 1; k < sample.length; k++) count += k * Math.exp(sample[k]);
  return count;
}

/** d count / d sample[k]. */
export function countGradient(method: ResolvedMethod, sample: readonly number[]): number[] {
  if (!method.info.gumbelSoftmax) return [1];
  return sample.map((logY, k) => k * Math.exp(logY));
}

/** Draws a sample with mean `mean` from base noise (uniform, normal, or K Gumbels). */
export function sampleFromNoise(method: ResolvedMethod, mean: number, noise: readonly number[]): number[] {
  const u = noise[0];
  switch (method.method) {
    case 'poisson':
      return [poissonInversion(mean, u)];
    case 'categorical':
      return [categoricalInversion(truncatedPoissonLogProbs(mean, method.categories), u)];
    case 'gs-score':
    case 'gs-pathwise': {
      const logProbs = truncatedPoissonLogProbs(mean, method.categories);
      return logSoftmax(logProbs.map((lp, k) => (lp + noise[k]) / method.tau));
    }
    case 'exponential':
      return [-mean * Math.log(1 - u)];
    case 'rayleigh':
      return [mean * SQRT_2_OVER_PI * Math.sqrt(-2 * Math.log(1 - u))];
    case 'half-normal':
      return [mean * SQRT_PI_OVER_2 * Math.abs(u)];
  }
}

/** LL_D(sample; par(mean)). */
export function logLikelihood(method: ResolvedMethod, sample: readonly number[], mean: number): number {
  const z = sample[0];
  switch (method.method) {
    case 'poisson':
      return z * Math.log(mean + EPS) - mean - logFactorial(z);
    case 'categorical':
      return truncatedPoissonLogProbs(mean, method.categories)[Math.min(z, method.categories - 1)];
    case 'gs-score':
    case 'gs-pathwise':
      return concreteLogDensity(sample, truncatedPoissonLogProbs(mean, method.categories), method.tau);
    case 'exponential':
      return -Math.log(mean + EPS) - z / (mean + EPS);
    case 'rayleigh': {
      const s = mean * SQRT_2_OVER_PI + EPS;
      return Math.log(z + EPS) - 2 * Math.log(s) - (z * z) / (2 * s * s);
    }
    case 'half-normal': {
      const s = mean * SQRT_PI_OVER_2 + EPS;
      return Math.log(2) / 2 - Math.log(s) - Math.log(Math.PI) / 2 - (z * z) / (2 * s * s);
    }
  }
}

/** d LL_D(sample; par(mean)) / d mean, the sample held fixed. */
export function logLikelihoodMeanDerivative(method: ResolvedMethod, sample: readonly number[], mean: number): number {
  const z = sample[0];
  switch (method.method) {
    case 'poisson':
      return z / (mean + EPS) - 1;
    case 'categorical': {
      const logProbs = truncatedPoissonLogProbs(mean, method.categories);
      return truncatedPoissonLogProbsDerivative(mean, logProbs)[Math.min(z, method.categories - 1)];
    }
    case 'gs-score':
    case 'gs-pathwise': {
      const logProbs = truncatedPoissonLogProbs(mean, method.categories);
      const derivative = truncatedPoissonLogProbsDerivative(mean, logProbs);
      const weights = concreteWeights(sample, logProbs, method.tau);
      const categories = method.categories;
      return weights.reduce((sum, weight, k) => sum + (1 - categories * weight) * derivative[k], 0);
    }
    case 'exponential': {
      const s = mean + EPS;
      return -1 / s + z / (s * s);
    }
    case 'rayleigh': {
      const s = mean * SQRT_2_OVER_PI + EPS;
      return SQRT_2_OVER_PI * (-2 / s + (z * z) / (s * s * s));
    }
    case 'half-normal': {
      const s = mean * SQRT_PI_OVER_2 + EPS;
      return SQRT_PI_OVER_2 * (-1 / s + (z * z) / (s * s * s));
    }
  }
}

/** d LL_D(sample; par(mean)) / d sample (pathwise methods), the mean held fixed. */
export function logLikelihoodSampleGradient(method: ResolvedMethod, sample: readonly number[], mean: number): number[] {
  const z = sample[0];
  switch (method.method) {
    case 'gs-score':
    case 'gs-pathwise': {
      const weights = concreteWeights(sample, truncatedPoissonLogProbs(mean, method.categories), method.tau);
      return weights.map((weight) => method.categories * method.tau * weight - (method.tau + 1));
    }
    case 'exponential':
      return [-1 / (mean + EPS)];
    case 'rayleigh': {
      const s = mean * SQRT_2_OVER_PI + EPS;
      return [1 / (z + EPS) - z / (s * s)];
    }
    case 'half-normal': {
      const s = mean * SQRT_PI_OVER_2 + EPS;
      return [-z / (s * s)];
    }
    case 'poisson':
    case 'categorical':
      throw new Error(`${method.method} samples are discrete: no pathwise gradient`);
  }
}

/**
 * Vector-Jacobian product of the reparameterised sample with respect to its mean: sum_k upstream[k] d sample[k] / d mean,
 * the base noise held fixed.
 */
export function sampleMeanVjp(
  method: ResolvedMethod,
  mean: number,
  noise: readonly number[],
  sample: readonly number[],
  upstream: readonly number[],
): number {
  switch (method.method) {
    case 'gs-score':
    case 'gs-pathwise': {
      const logProbs = truncatedPoissonLogProbs(mean, method.categories);
      const derivative = truncatedPoissonLogProbsDerivative(mean, logProbs);
      const total = upstream.reduce((sum, value) => sum + value, 0);
      let result = 0;
      for (let i = 0; i < method.categories; i++) {
        result += ((upstream[i] - Math.exp(sample[i]) * total) / method.tau) * derivative[i];
      }
      return result;
    }
    case 'exponential':
      return upstream[0] * -Math.log(1 - noise[0]);
    case 'rayleigh':
      return upstream[0] * SQRT_2_OVER_PI * Math.sqrt(-2 * Math.log(1 - noise[0]));
    case 'half-normal':
      return upstream[0] * SQRT_PI_OVER_2 * Math.abs(noise[0]);
    case 'poisson':
    case 'categorical':
      throw new Error(`${method.method} samples are discrete: no pathwise gradient`);
  }
}
