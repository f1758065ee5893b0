// The seven hidden-spike distributions in f32, twins of src/reference/distributions.ts. Each is parameterised by
// its mean (lambda in p, mu in q). A sample is one f32 z, or for Gumbel-Softmax ln y on the K-simplex held in a
// `Categories` array. The `method` argument is always a pipeline-override constant at the call site, so each
// pipeline keeps only its own branch.
//#include "special.wgsl"

const METHOD_POISSON: u32 = 0u;
const METHOD_CATEGORICAL: u32 = 1u;
const METHOD_GS_SCORE: u32 = 2u;
const METHOD_GS_PATHWISE: u32 = 3u;
const METHOD_EXPONENTIAL: u32 = 4u;
const METHOD_RAYLEIGH: u32 = 5u;
const METHOD_HALF_NORMAL: u32 = 6u;

const MAX_CATEGORIES: u32 = 8u;
alias Categories = array<f32, 8>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const SQRT_PI_OVER_2: f32 = 1.2533141373155001;
// ln(2)/2 - ln(pi)/2, the half-normal's constant.
const HALF_NORMAL_CONSTANT: f32 = -0.22579135264472744;

fn isGumbelSoftmax(method: u32) -> bool {
  return method == METHOD_GS_SCORE || method == METHOD_GS_PATHWISE;
}

fn usesTruncatedPoisson(method: u32) -> bool {
  return method == METHOD_CATEGORICAL || isGumbelSoftmax(method);
}

// ln pi[k] = k ln(m+EPS) - m - ln k! for k >= 1; category 0 takes the remaining mass.
fn truncatedPoissonLogProbs(mean: f32, categories: u32) -> Categories {
  var logProbs: Categories;
  var rest = 0.0;
  let logMean = log(mean + EPS);
  for (var k = 1u; k < categories; k++) {
    logProbs[k] = f32(k) * logMean - mean - logFactorial(f32(k));
    rest += exp(logProbs[k]);
  }
  logProbs[0] = log(1.0 - rest);
  return logProbs;
}

// d ln pi[k] / d mean.
fn truncatedPoissonLogProbsDerivative(mean: f32, logProbs: Categories, categories: u32) -> Categories {
  var derivative: Categories;
  var weighted = 0.0;
  for (var k = 1u; k < categories; k++) {
    derivative[k] = f32(k) / (mean + EPS) - 1.0;
    weighted += exp(logProbs[k]) * derivative[k];
  }
  derivative[0] = -weighted / exp(logProbs[0]);
  return derivative;
}

// Poisson inversion: the smallest k with u < CDF(k) of Poisson(mean), capped at 64, the CDF summed in f32 as
//   p_0 = exp(-mean), cdf_0 = p_0;  p_k = p_{k-1} * (mean / k), cdf_k = cdf_{k-1} + p_k.
// The first POISSON_STEPS terms are formed without a branch and the count is the number of them that u reaches; only
// a u at or past cdf_{POISSON_STEPS - 1} goes on in a loop. Because every p_k >= 0, the f32 sums never decrease, so
// the terms u reaches are exactly cdf_0 .. cdf_{k-1} and the count equals what the plain loop returns, bit for bit,
// for every mean. For the sigmoid means of both models (mean <= 1) the loop is rare: P(count >= 4) <= 1.9%. It
// cannot be dropped: for some f32 means the f32 CDF never passes 1 - 2^-24, the largest uniform, and the plain loop
// runs to its cap of 64 there.
const POISSON_STEPS: u32 = 4u;

struct PoissonSteps {
  cdf: array<f32, POISSON_STEPS>,
  // p_{POISSON_STEPS - 1}, where the loop resumes.
  probability: f32,
}

// cdf_0 .. cdf_{POISSON_STEPS - 1} of Poisson(mean). They depend on the mean alone, so on a GPU draws that share a
// mean (evaluation's F and FB variational means, the same for every sample of a pair) could share them through
// workgroup memory; on llvmpipe, where workgroup loads run per lane, that measured 2-3x slower than forming them.
fn poissonSteps(mean: f32) -> PoissonSteps {
  var steps: PoissonSteps;
  var probability = exp(-mean);
  var cdf = probability;
  steps.cdf[0] = cdf;
  for (var k = 1u; k < POISSON_STEPS; k++) {
    probability *= mean / f32(k);
    cdf += probability;
    steps.cdf[k] = cdf;
  }
  steps.probability = probability;
  return steps;
}

// The inversion from its first steps: count the ones u reaches, and only past the last one resume the sum.
fn poissonInversionFromSteps(mean: f32, u: f32, steps: PoissonSteps) -> f32 {
  var below = 0u;
  for (var k = 0u; k < POISSON_STEPS; k++) {
    below += select(0u, 1u, u >= steps.cdf[k]);
  }
  if (below < POISSON_STEPS) {
    return f32(below);
  }
  var k = POISSON_STEPS - 1u;
  var probability = steps.probability;
  var cdf = steps.cdf[POISSON_STEPS - 1u];
  while (u >= cdf && k < 64u) {
    k++;
    probability *= mean / f32(k);
    cdf += probability;
  }
  return f32(k);
}

fn poissonInversion(mean: f32, u: f32) -> f32 {
  return poissonInversionFromSteps(mean, u, poissonSteps(mean));
}

// Smallest k with u < CDF(k) over exp(ln pi); the last category takes the rest.
fn categoricalInversion(logProbs: Categories, categories: u32, u: f32) -> f32 {
  var cdf = 0.0;
  for (var k = 0u; k + 1u < categories; k++) {
    cdf += exp(logProbs[k]);
    if (u < cdf) {
      return f32(k);
    }
  }
  return f32(categories - 1u);
}

// ---- Gumbel-Softmax (Concrete) ----

// ln y = log-softmax((ln pi + g) / tau), computed in logs so it cannot underflow to -inf.
fn gumbelSoftmaxLogSample(logProbs: Categories, gumbels: Categories, categories: u32, tau: f32) -> Categories {
  var logits: Categories;
  var largest = -3.0e38;
  for (var k = 0u; k < categories; k++) {
    logits[k] = (logProbs[k] + gumbels[k]) / tau;
    largest = max(largest, logits[k]);
  }
  var total = 0.0;
  for (var k = 0u; k < categories; k++) {
    total += exp(logits[k] - largest);
  }
  let normaliser = largest + log(total);
  for (var k = 0u; k < categories; k++) {
    logits[k] -= normaliser;
  }
  return logits;
}

// s = softmax(ln pi - tau ln y); the Concrete density's gradients are built from it.
fn concreteWeights(logY: Categories, logProbs: Categories, categories: u32, tau: f32) -> Categories {
  var weights: Categories;
  var largest = -3.0e38;
  for (var k = 0u; k < categories; k++) {
    weights[k] = logProbs[k] - tau * logY[k];
    largest = max(largest, weights[k]);
  }
  var total = 0.0;
  for (var k = 0u; k < categories; k++) {
    weights[k] = exp(weights[k] - largest);
    total += weights[k];
  }
  for (var k = 0u; k < categories; k++) {
    weights[k] /= total;
  }
  return weights;
}

// lgamma(K) + (K-1) ln tau - K logsumexp(ln pi - tau ln y) + sum_k (ln pi[k] - (tau+1) ln y[k]).
fn concreteLogDensity(logY: Categories, logProbs: Categories, categories: u32, tau: f32) -> f32 {
  var largest = -3.0e38;
  var linear = 0.0;
  for (var k = 0u; k < categories; k++) {
    largest = max(largest, logProbs[k] - tau * logY[k]);
    linear += logProbs[k] - (tau + 1.0) * logY[k];
  }
  var total = 0.0;
  for (var k = 0u; k < categories; k++) {
    total += exp(logProbs[k] - tau * logY[k] - largest);
  }
  let count = f32(categories);
  return logGammaInteger(categories) + (count - 1.0) * log(tau) - count * (largest + log(total)) + linear;
}

// The count a simplex point feeds into the convolution: sum_k k y[k].
fn gumbelSoftmaxCount(logY: Categories, categories: u32) -> f32 {
  var count = 0.0;
  for (var k = 1u; k < categories; k++) {
    count += f32(k) * exp(logY[k]);
  }
  return count;
}

// ---- One interface over all seven methods, a sample held as Categories (z in slot 0 when not on the simplex) ----

struct MeanMap {
  logProbs: Categories,
  logProbsDerivative: Categories,
}

fn meanMap(method: u32, mean: f32, categories: u32) -> MeanMap {
  var map: MeanMap;
  if (usesTruncatedPoisson(method)) {
    map.logProbs = truncatedPoissonLogProbs(mean, categories);
    map.logProbsDerivative = truncatedPoissonLogProbsDerivative(mean, map.logProbs, categories);
  }
  return map;
}

// Draws a sample of mean `mean` from base noise (a uniform, a normal, or K Gumbels).
fn sampleFromNoise(method: u32, mean: f32, noise: Categories, categories: u32, tau: f32) -> Categories {
  var draw: Categories;
  let u = noise[0];
  switch (method) {
    case METHOD_POISSON: { draw[0] = poissonInversion(mean, u); }
    case METHOD_CATEGORICAL: { draw[0] = categoricalInversion(truncatedPoissonLogProbs(mean, categories), categories, u); }
    case METHOD_GS_SCORE, METHOD_GS_PATHWISE: {
      draw = gumbelSoftmaxLogSample(truncatedPoissonLogProbs(mean, categories), noise, categories, tau);
    }
    case METHOD_EXPONENTIAL: { draw[0] = -mean * log(1.0 - u); }
    case METHOD_RAYLEIGH: { draw[0] = mean * SQRT_2_OVER_PI * sqrt(-2.0 * log(1.0 - u)); }
    default: { draw[0] = mean * SQRT_PI_OVER_2 * abs(u); }
  }
  return draw;
}

fn sampleCount(method: u32, draw: Categories, categories: u32) -> f32 {
  if (isGumbelSoftmax(method)) {
    return gumbelSoftmaxCount(draw, categories);
  }
  return draw[0];
}

// LL_D(sample; par(mean)).
fn logLikelihood(method: u32, draw: Categories, mean: f32, categories: u32, tau: f32) -> f32 {
  let z = draw[0];
  switch (method) {
    case METHOD_POISSON: { return z * log(mean + EPS) - mean - logFactorial(z); }
    case METHOD_CATEGORICAL: {
      let logProbs = truncatedPoissonLogProbs(mean, categories);
      return logProbs[min(u32(z), categories - 1u)];
    }
    case METHOD_GS_SCORE, METHOD_GS_PATHWISE: {
      return concreteLogDensity(draw, truncatedPoissonLogProbs(mean, categories), categories, tau);
    }
    case METHOD_EXPONENTIAL: { return -log(mean + EPS) - z / (mean + EPS); }
    case METHOD_RAYLEIGH: {
      let s = mean * SQRT_2_OVER_PI + EPS;
      return log(z + EPS) - 2.0 * log(s) - z * z / (2.0 * s * s);
    }
    default: {
      let s = mean * SQRT_PI_OVER_2 + EPS;
      return HALF_NORMAL_CONSTANT - log(s) - z * z / (2.0 * s * s);
    }
  }
}

// d LL_D(sample; par(mean)) / d mean, the sample held fixed.
fn logLikelihoodMeanDerivative(method: u32, draw: Categories, mean: f32, categories: u32, tau: f32) -> f32 {
  let z = draw[0];
  switch (method) {
    case METHOD_POISSON: { return z / (mean + EPS) - 1.0; }
    case METHOD_CATEGORICAL: {
      let map = meanMap(method, mean, categories);
      return map.logProbsDerivative[min(u32(z), categories - 1u)];
    }
    case METHOD_GS_SCORE, METHOD_GS_PATHWISE: {
      let map = meanMap(method, mean, categories);
      let weights = concreteWeights(draw, map.logProbs, categories, tau);
      var total = 0.0;
      for (var k = 0u; k < categories; k++) {
        total += (1.0 - f32(categories) * weights[k]) * map.logProbsDerivative[k];
      }
      return total;
    }
    case METHOD_EXPONENTIAL: {
      let s = mean + EPS;
      return -1.0 / s + z / (s * s);
    }
    case METHOD_RAYLEIGH: {
      let s = mean * SQRT_2_OVER_PI + EPS;
      return SQRT_2_OVER_PI * (-2.0 / s + z * z / (s * s * s));
    }
    default: {
      let s = mean * SQRT_PI_OVER_2 + EPS;
      return SQRT_PI_OVER_2 * (-1.0 / s + z * z / (s * s * s));
    }
  }
}

// d LL_D(sample; par(mean)) / d sample for the pathwise methods (per simplex coordinate ln y[k] for Gumbel-Softmax).
fn logLikelihoodSampleGradient(method: u32, draw: Categories, mean: f32, categories: u32, tau: f32) -> Categories {
  var gradient: Categories;
  let z = draw[0];
  switch (method) {
    case METHOD_GS_SCORE, METHOD_GS_PATHWISE: {
      let weights = concreteWeights(draw, truncatedPoissonLogProbs(mean, categories), categories, tau);
      for (var k = 0u; k < categories; k++) {
        gradient[k] = f32(categories) * tau * weights[k] - (tau + 1.0);
      }
    }
    case METHOD_EXPONENTIAL: { gradient[0] = -1.0 / (mean + EPS); }
    case METHOD_RAYLEIGH: {
      let s = mean * SQRT_2_OVER_PI + EPS;
      gradient[0] = 1.0 / (z + EPS) - z / (s * s);
    }
    case METHOD_HALF_NORMAL: {
      let s = mean * SQRT_PI_OVER_2 + EPS;
      gradient[0] = -z / (s * s);
    }
    default: {}
  }
  return gradient;
}

// d count / d sample: 1, or k y[k] on the simplex.
fn countGradient(method: u32, draw: Categories, categories: u32) -> Categories {
  var gradient: Categories;
  if (isGumbelSoftmax(method)) {
    for (var k = 1u; k < categories; k++) {
      gradient[k] = f32(k) * exp(draw[k]);
    }
  } else {
    gradient[0] = 1.0;
  }
  return gradient;
}

// dz/dmean of a continuous pathwise sample, the base noise held fixed: the sample is mean * slope. The sampling stage
// stores it, so the backward pass needs neither the noise nor a logarithm.
fn reparameterisationSlope(method: u32, noise: Categories) -> f32 {
  switch (method) {
    case METHOD_EXPONENTIAL: { return -log(1.0 - noise[0]); }
    case METHOD_RAYLEIGH: { return SQRT_2_OVER_PI * sqrt(-2.0 * log(1.0 - noise[0])); }
    case METHOD_HALF_NORMAL: { return SQRT_PI_OVER_2 * abs(noise[0]); }
    default: { return 0.0; }
  }
}

// sum_k upstream[k] d ln y[k] / d mean for a Gumbel-Softmax sample, the Gumbels held fixed:
// d ln y[j] / d ln pi[i] = (delta_ij - y[i]) / tau, then d ln pi / d mean.
fn gumbelSoftmaxMeanVjp(mean: f32, logY: Categories, upstream: Categories, categories: u32, tau: f32) -> f32 {
  let map = meanMap(METHOD_GS_PATHWISE, mean, categories);
  var total = 0.0;
  for (var k = 0u; k < categories; k++) {
    total += upstream[k];
  }
  var result = 0.0;
  for (var i = 0u; i < categories; i++) {
    result += (upstream[i] - exp(logY[i]) * total) / tau * map.logProbsDerivative[i];
  }
  return result;
}
