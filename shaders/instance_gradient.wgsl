// The fused path for small models: one thread follows one instance (model, sequence, sample) through the whole
// gradient of its objective, the work that the staged path spreads over drive, sample q, ln p, backward, sum weights,
// sum instance, sum samples and the visible-column product:
//   forward sweep, t = 0 .. T-1:
//     cz[t][k] = sum_l psi[l-1] z[t-l][k]                         (the hidden history, a shift register)
//     g[t][h]  = bq[h] + A[h] . [cx[t] | cz[t] (FS) | rx[t] (FB)],   mu = sigma(g),   z = r(mu, noise),  -ln q
//     a[t][n]  = b[n] + W[n] . [cx[t] | cz[t]],                       lambda = sigma(a),  ln p,  delta = d ln p / d a
//     theta's gradient  += delta[t] (x) [cx[t] | cz[t] | 1]          (known at bin t: it needs no later bin)
//     score:    phi's gradient += dJ/dg[t] (x) [inputs | 1],  dJ/dg = d LL_D(z; mu)/d mu mu(1-mu), scaled by w at the end
//     pathwise: dJ/dg[t][h] is affine in the history gradient of the later bins (docs/gradients.md):
//                 dJ/dg[t][h] = alpha[t][h] sum_l psi[l-1] dJ/dcz[t+l][h] + beta[t][h]
//               so the sweep stores alpha, beta and d ln p/d cz through the drives (and cz for FS) for the next sweep
//   backward sweep (pathwise), t = T-1 .. 0: dJ/dg[t] from a shift register of the later bins' dJ/dcz, then phi's
//     gradient += dJ/dg[t] (x) [inputs | 1], and dJ/dcz[t] = d ln p/d cz[t] (+ sum_h dJ/dg[t][h] A[h][V+k] for FS).
// Everything per bin lives in registers: the model's parameters are loaded once, the hidden history and the later
// bins' history gradients are shift registers of basisCount entries, and the gradient sums are a thread's own. Per bin
// a thread reads only its sequence's data (the same words for the M samples of a sequence, which are neighbouring
// threads: broadcasts on a GPU) and, when pathwise, writes and reads back 3H (FS: 4H) words laid out so that
// neighbouring threads touch neighbouring words. What remains is the mean over instances (reduce.wgsl sumGradient).
// The noise is the Philox stream of the sampling stage (same key and counter), so this path and the staged one draw
// the same samples and agree to f32 rounding. The host uses it only for models within the limits below
// (src/engine/spec.ts isFused), where the staged path's dispatches and round trips through storage dominate.
//#include "stage.wgsl"
//#include "counts.wgsl"
//#include "noise.wgsl"
//#include "distributions.wgsl"

struct Params {
  paramCount: u32,
  weightOffset: u32,
  biasOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  backwardOffset: u32,
  variationalBiasOffset: u32,
  noiseWidth: u32,
  tau: f32,
  purpose: u32,
  countsOffset: u32,
  convOffset: u32,
  backConvOffset: u32,
  logFactorialOffset: u32,
  externalNoiseOffset: u32,
  sweepOffset: u32,
  sampleWeightsOffset: u32,
  instanceGradientsOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read> modelParams: array<f32>;
@group(0) @binding(4) var<storage, read_write> workspace: array<f32>;

// The limits of the fused path (twins of FUSED_LIMITS in src/engine/spec.ts): a thread's registers hold the model's
// parameters and its gradient sums, N (N + 1) + H (inputs + 1) of each.
const FUSED_MAX_NEURONS: u32 = 8u;
const FUSED_MAX_HIDDEN: u32 = 4u;
// phi's input columns: V (F), N (FS), 2V (FB), so 2 x FUSED_MAX_NEURONS covers every scheme.
const FUSED_MAX_INPUTS: u32 = 16u;
const FUSED_MAX_LAGS: u32 = 16u;

override workgroupSize: u32 = 32u;
override method: u32 = 4u;
override noiseKind: u32 = 0u;
// 0: draw from Philox, 1: read base noise from the externalNoise region.
override noiseSource: u32 = 0u;
const NOISE_FROM_BUFFER: u32 = 1u;
override pathwise: bool = true;

// What the forward sweep keeps of each (bin, hidden unit) for the backward sweep (pathwise only).
const SWEEP_ALPHA: u32 = 0u;
const SWEEP_BETA: u32 = 1u;
const SWEEP_DRIVE_GRADIENT: u32 = 2u;
const SWEEP_HIDDEN_CONV: u32 = 3u;

fn sweepFields() -> u32 {
  return select(3u, 4u, scheme == SCHEME_FS);
}

// [bin][field][hidden][instance]: neighbouring threads (instances) touch neighbouring words.
fn sweepIndex(instance: u32, time: u32, field: u32, h: u32) -> u32 {
  return params.sweepOffset + ((time * sweepFields() + field) * hiddenCount + h) * instanceCount() + instance;
}

fn phiInputs() -> u32 {
  switch (scheme) {
    case SCHEME_FS: { return neuronCount; }
    case SCHEME_FB: { return 2u * visibleCount; }
    default: { return visibleCount; }
  }
}

// Where phi's input column j of hidden unit h lives in the parameter vector.
fn phiParameter(h: u32, j: u32) -> u32 {
  if (j < params.forwardColumns) {
    return params.forwardOffset + h * params.forwardColumns + j;
  }
  return params.backwardOffset + h * visibleCount + j - visibleCount;
}

struct Model {
  // W[n][m] for m < N, and b[n] in column N.
  theta: array<array<f32, FUSED_MAX_NEURONS + 1u>, FUSED_MAX_NEURONS>,
  // A[h][j] for j < phiInputs(), and bq[h] in column phiInputs().
  phi: array<array<f32, FUSED_MAX_INPUTS + 1u>, FUSED_MAX_HIDDEN>,
  psi: array<f32, FUSED_MAX_LAGS>,
}

fn loadModel(model: u32) -> Model {
  var m: Model;
  let base = model * params.paramCount;
  for (var n = 0u; n < neuronCount; n++) {
    for (var k = 0u; k < neuronCount; k++) {
      m.theta[n][k] = modelParams[base + params.weightOffset + n * neuronCount + k];
    }
    m.theta[n][neuronCount] = modelParams[base + params.biasOffset + n];
  }
  for (var h = 0u; h < hiddenCount; h++) {
    for (var j = 0u; j < phiInputs(); j++) {
      m.phi[h][j] = modelParams[base + phiParameter(h, j)];
    }
    m.phi[h][phiInputs()] = modelParams[base + params.variationalBiasOffset + h];
  }
  for (var lag = 1u; lag <= basisCount; lag++) {
    m.psi[lag - 1u] = basisWeight(lag);
  }
  return m;
}

// The last basisCount bins' values of each hidden unit, newest first: lags[lag - 1][k]. The forward sweep keeps the
// samples' counts in one (for cz), the backward sweep the later bins' dJ/dcz in another (for the history gradient).
alias LagRegister = array<array<f32, FUSED_MAX_HIDDEN>, FUSED_MAX_LAGS>;

// sum_l psi[l-1] lags[l-1][k] for every hidden unit k.
fn convolveLags(psi: array<f32, FUSED_MAX_LAGS>, lags: ptr<function, LagRegister>) -> array<f32, FUSED_MAX_HIDDEN> {
  var sums: array<f32, FUSED_MAX_HIDDEN>;
  for (var k = 0u; k < hiddenCount; k++) {
    var sum = 0.0;
    for (var lag = 1u; lag <= basisCount; lag++) {
      sum += psi[lag - 1u] * (*lags)[lag - 1u][k];
    }
    sums[k] = sum;
  }
  return sums;
}

// Moves the register on by one bin: every entry one lag older, `newest` at lag 1.
fn pushLags(lags: ptr<function, LagRegister>, newest: array<f32, FUSED_MAX_HIDDEN>) {
  for (var lag = basisCount; lag > 1u; lag--) {
    for (var k = 0u; k < hiddenCount; k++) {
      (*lags)[lag - 1u][k] = (*lags)[lag - 2u][k];
    }
  }
  for (var k = 0u; k < hiddenCount; k++) {
    (*lags)[0][k] = newest[k];
  }
}

// One bin's inputs: the generative model's [cx | cz] and phi's [cx | cz (FS) | rx (FB)].
struct Inputs {
  generative: array<f32, FUSED_MAX_NEURONS>,
  variational: array<f32, FUSED_MAX_INPUTS>,
}

fn inputsAt(row: u32, time: u32, cz: array<f32, FUSED_MAX_HIDDEN>) -> Inputs {
  var x: Inputs;
  let cell = (row * jobBins() + time) * visibleCount;
  for (var v = 0u; v < visibleCount; v++) {
    let value = dataset[params.convOffset + cell + v];
    x.generative[v] = value;
    x.variational[v] = value;
  }
  for (var k = 0u; k < hiddenCount; k++) {
    x.generative[visibleCount + k] = cz[k];
  }
  if (scheme == SCHEME_FS) {
    for (var k = 0u; k < hiddenCount; k++) {
      x.variational[visibleCount + k] = cz[k];
    }
  }
  if (scheme == SCHEME_FB) {
    for (var v = 0u; v < visibleCount; v++) {
      x.variational[visibleCount + v] = dataset[params.backConvOffset + cell + v];
    }
  }
  return x;
}

fn baseNoise(cache: ptr<function, NoiseWords>, at: Instance, instance: u32, time: u32, h: u32) -> Categories {
  if (noiseSource == NOISE_FROM_BUFFER) {
    var noise: Categories;
    let start = params.externalNoiseOffset + unitIndex(instance, time, h) * params.noiseWidth;
    for (var k = 0u; k < params.noiseWidth; k++) {
      noise[k] = workspace[start + k];
    }
    return noise;
  }
  let key = noiseKey(seedOf(at.model), params.purpose, stepCounter());
  return drawUnitNoise(cache, noiseKind, key, time, h, at.sampleIndex, minibatchSlot(at.slot), params.noiseWidth);
}

// dJ/dg of a pathwise sample as alpha * (history gradient) + beta: the staged backward pass's upstream gradient,
// throughHistory * d count/d sample + d LL_D(z; lambda)/dz - d LL_D(z; mu)/dz, is linear in throughHistory, and so
// is its product with dz/dmu (a scalar slope, or the Gumbel-Softmax vector-Jacobian product).
fn pathwiseCoefficients(draw: Categories, mean: f32, rate: f32, noise: Categories) -> vec2<f32> {
  let slope = mean * (1.0 - mean);
  let meanDerivative = logLikelihoodMeanDerivative(method, draw, mean, categoryCount, params.tau);
  let pGradient = logLikelihoodSampleGradient(method, draw, rate, categoryCount, params.tau);
  let qGradient = logLikelihoodSampleGradient(method, draw, mean, categoryCount, params.tau);
  let countSlope = countGradient(method, draw, categoryCount);
  var difference: Categories;
  for (var k = 0u; k < MAX_CATEGORIES; k++) {
    difference[k] = pGradient[k] - qGradient[k];
  }
  var alpha: f32;
  var beta: f32;
  if (isGumbelSoftmax(method)) {
    alpha = gumbelSoftmaxMeanVjp(mean, draw, countSlope, categoryCount, params.tau);
    beta = gumbelSoftmaxMeanVjp(mean, draw, difference, categoryCount, params.tau);
  } else {
    let sampleSlope = reparameterisationSlope(method, noise);
    alpha = countSlope[0] * sampleSlope;
    beta = difference[0] * sampleSlope;
  }
  return vec2<f32>(alpha * slope, (beta - meanDerivative) * slope);
}

@compute @workgroup_size(workgroupSize)
fn instanceGradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                    @builtin(local_invocation_index) lane: u32) {
  let instance = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (instance >= instanceCount()) {
    return;
  }
  let at = decodeInstance(instance);
  let row = slotRow(at.model, at.slot);
  if (row == NO_SEQUENCE) {
    workspace[params.sampleWeightsOffset + instance] = 0.0;
    return;
  }
  let model = loadModel(at.model);
  let bins = jobBins();
  let J = phiInputs();
  let V = visibleCount;
  var thetaGradient: array<array<f32, FUSED_MAX_NEURONS + 1u>, FUSED_MAX_NEURONS>;
  var phiGradient: array<array<f32, FUSED_MAX_INPUTS + 1u>, FUSED_MAX_HIDDEN>;
  // history[lag - 1][k] = z[t - lag][k], zero before the first bin.
  var history: LagRegister;
  var logWeight = -dataset[params.logFactorialOffset + row];
  for (var time = 0u; time < bins; time++) {
    // Per-bin arrays are set in full before use: a declaration in a loop body is not relied on to zero them.
    let cz = convolveLags(model.psi, &history);
    let x = inputsAt(row, time, cz);
    // q: mean, sample, -ln q.
    var draws: array<Categories, FUSED_MAX_HIDDEN>;
    var noises: array<Categories, FUSED_MAX_HIDDEN>;
    var means: array<f32, FUSED_MAX_HIDDEN>;
    var cache = freshNoiseWords();
    for (var h = 0u; h < hiddenCount; h++) {
      var drive = model.phi[h][J];
      for (var j = 0u; j < J; j++) {
        drive += model.phi[h][j] * x.variational[j];
      }
      means[h] = sigmoid(drive);
      noises[h] = baseNoise(&cache, at, instance, time, h);
      draws[h] = sampleFromNoise(method, means[h], noises[h], categoryCount, params.tau);
      logWeight -= logLikelihood(method, draws[h], means[h], categoryCount, params.tau);
    }
    // p: rates, ln p, delta, theta's gradient and d ln p / d cz through the drives.
    var rates: array<f32, FUSED_MAX_HIDDEN>;
    var driveGradient: array<f32, FUSED_MAX_HIDDEN>;
    for (var k = 0u; k < hiddenCount; k++) {
      driveGradient[k] = 0.0;
    }
    for (var n = 0u; n < neuronCount; n++) {
      var drive = model.theta[n][neuronCount];
      for (var k = 0u; k < neuronCount; k++) {
        drive += model.theta[n][k] * x.generative[k];
      }
      let rate = sigmoid(drive);
      let slope = rate * (1.0 - rate);
      var delta: f32;
      if (n < V) {
        let spikes = spikeCount(params.countsOffset, row, time, n);
        logWeight += spikes * log(rate + EPS) - rate;
        delta = (spikes / (rate + EPS) - 1.0) * slope;
      } else {
        let h = n - V;
        rates[h] = rate;
        logWeight += logLikelihood(method, draws[h], rate, categoryCount, params.tau);
        delta = logLikelihoodMeanDerivative(method, draws[h], rate, categoryCount, params.tau) * slope;
      }
      for (var k = 0u; k < neuronCount; k++) {
        thetaGradient[n][k] += delta * x.generative[k];
      }
      thetaGradient[n][neuronCount] += delta;
      for (var k = 0u; k < hiddenCount; k++) {
        driveGradient[k] += delta * model.theta[n][V + k];
      }
    }
    // q's gradient: at once (score) or the coefficients for the backward sweep (pathwise).
    for (var h = 0u; h < hiddenCount; h++) {
      if (pathwise) {
        let coefficients = pathwiseCoefficients(draws[h], means[h], rates[h], noises[h]);
        workspace[sweepIndex(instance, time, SWEEP_ALPHA, h)] = coefficients.x;
        workspace[sweepIndex(instance, time, SWEEP_BETA, h)] = coefficients.y;
        workspace[sweepIndex(instance, time, SWEEP_DRIVE_GRADIENT, h)] = driveGradient[h];
        if (scheme == SCHEME_FS) {
          workspace[sweepIndex(instance, time, SWEEP_HIDDEN_CONV, h)] = cz[h];
        }
      } else {
        let factor = logLikelihoodMeanDerivative(method, draws[h], means[h], categoryCount, params.tau) * means[h] * (1.0 - means[h]);
        for (var j = 0u; j < J; j++) {
          phiGradient[h][j] += factor * x.variational[j];
        }
        phiGradient[h][J] += factor;
      }
    }
    var counts: array<f32, FUSED_MAX_HIDDEN>;
    for (var k = 0u; k < hiddenCount; k++) {
      counts[k] = sampleCount(method, draws[k], categoryCount);
    }
    pushLags(&history, counts);
  }
  if (pathwise) {
    // later[lag - 1][k] = dJ/dcz[t + lag][k], zero past the last bin.
    var later: LagRegister;
    for (var step = 0u; step < bins; step++) {
      let time = bins - 1u - step;
      var cz: array<f32, FUSED_MAX_HIDDEN>;
      if (scheme == SCHEME_FS) {
        for (var k = 0u; k < hiddenCount; k++) {
          cz[k] = workspace[sweepIndex(instance, time, SWEEP_HIDDEN_CONV, k)];
        }
      }
      let x = inputsAt(row, time, cz);
      let throughHistory = convolveLags(model.psi, &later);
      var factors: array<f32, FUSED_MAX_HIDDEN>;
      for (var h = 0u; h < hiddenCount; h++) {
        factors[h] = workspace[sweepIndex(instance, time, SWEEP_ALPHA, h)] * throughHistory[h] + workspace[sweepIndex(instance, time, SWEEP_BETA, h)];
        for (var j = 0u; j < J; j++) {
          phiGradient[h][j] += factors[h] * x.variational[j];
        }
        phiGradient[h][J] += factors[h];
      }
      var historyGradient: array<f32, FUSED_MAX_HIDDEN>;
      for (var k = 0u; k < hiddenCount; k++) {
        var total = workspace[sweepIndex(instance, time, SWEEP_DRIVE_GRADIENT, k)];
        if (scheme == SCHEME_FS) {
          for (var h = 0u; h < hiddenCount; h++) {
            total += factors[h] * model.phi[h][V + k];
          }
        }
        historyGradient[k] = total;
      }
      pushLags(&later, historyGradient);
    }
  }
  // The score function weights phi's gradient by the sample's weight w = ln p - ln q.
  let scale = select(logWeight, 1.0, pathwise);
  let out = params.instanceGradientsOffset + instance * params.paramCount;
  for (var n = 0u; n < neuronCount; n++) {
    for (var k = 0u; k < neuronCount; k++) {
      workspace[out + params.weightOffset + n * neuronCount + k] = thetaGradient[n][k];
    }
    workspace[out + params.biasOffset + n] = thetaGradient[n][neuronCount];
  }
  for (var h = 0u; h < hiddenCount; h++) {
    for (var j = 0u; j < J; j++) {
      workspace[out + phiParameter(h, j)] = phiGradient[h][j] * scale;
    }
    workspace[out + params.variationalBiasOffset + h] = phiGradient[h][J] * scale;
  }
  workspace[params.sampleWeightsOffset + instance] = logWeight;
}
