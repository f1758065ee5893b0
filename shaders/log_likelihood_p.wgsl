// The generative model's log-likelihood ln p(X, Z) per bin, and its derivatives:
//   cz[t][k]  = sum_{l=1..L} psi[l-1] z[t-l][k]
//   a[t][n]   = visibleDrive[t][n] + sum_k W[n][V+k] cz[t][k],   lambda = sigma(a)
//   ln p_t    = sum_v (x ln(lambda+EPS) - lambda) + sum_h LL_D(z[t][h]; lambda[t][V+h])
//   delta[t][n]      = d ln p / d a[t][n]                      (when `withGradient`)
//   driveGradient[t][k] = sum_n delta[t][n] W[n][V+k]  = d ln p / d cz[t][k] through the drives (when `withGradient`)
// The data's -ln x! terms are constant per sequence and are added by the reduce stage.
// A row per instance, a thread per 4 bins: given the samples, every bin is independent. cz lives in registers, and
// each hidden-column weight a thread loads serves its 4 bins.
//#include "stage.wgsl"
//#include "counts.wgsl"
//#include "distributions.wgsl"

struct Params {
  paramCount: u32,
  weightOffset: u32,
  tau: f32,
  countsOffset: u32,
  visibleDriveOffset: u32,
  samplesOffset: u32,
  hiddenCountsOffset: u32,
  hiddenConvOffset: u32,
  hiddenRatesOffset: u32,
  deltasOffset: u32,
  driveGradientOffset: u32,
  ratesOffset: u32,
  weightTermsOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read> modelParams: array<f32>;
@group(0) @binding(4) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;
override method: u32 = 4u;
// Training needs delta; evaluation does not.
override withGradient: bool = true;
// Keep every rate lambda[t][n] (the firing-rate API); training does not need them.
override storeRates: bool = false;
// Whether weightTerms already holds -ln q of this bin (a sampling stage ran) or is written afresh with ln p.
override addToWeights: bool = true;

// Bins per thread: each weight W[n][V+k] a thread loads serves this many bins, for the hidden drive and for
// d ln p / d cz alike.
const BINS: u32 = 4u;

@compute @workgroup_size(workgroupSize)
fn logJointPerBin(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                  @builtin(global_invocation_id) thread: vec3<u32>) {
  let instance = rowOfWorkgroup(group, groups);
  let firstBin = thread.x * BINS;
  let bins = jobBins();
  if (instance >= instanceCount() || firstBin >= bins) {
    return;
  }
  let at = decodeInstance(instance);
  let row = slotRow(at.model, at.slot);
  if (row == NO_SEQUENCE) {
    return;
  }
  let count = min(BINS, bins - firstBin);
  var cz: array<array<f32, MAX_HIDDEN>, BINS>;
  for (var b = 0u; b < count; b++) {
    let time = firstBin + b;
    for (var k = 0u; k < hiddenCount; k++) {
      var sum = 0.0;
      for (var lag = 1u; lag <= basisCount; lag++) {
        if (lag <= time) {
          sum += basisWeight(lag) * workspace[params.hiddenCountsOffset + unitIndex(instance, time - lag, k)];
        }
      }
      cz[b][k] = sum;
      workspace[params.hiddenConvOffset + unitIndex(instance, time, k)] = sum;
    }
  }
  let width = select(1u, categoryCount, isGumbelSoftmax(method));
  let weights = at.model * params.paramCount + params.weightOffset;
  var driveGradient: array<array<f32, MAX_HIDDEN>, BINS>;
  var logJoint: array<f32, BINS>;
  for (var n = 0u; n < neuronCount; n++) {
    var w: array<f32, MAX_HIDDEN>;
    for (var k = 0u; k < hiddenCount; k++) {
      w[k] = modelParams[weights + n * neuronCount + visibleCount + k];
    }
    for (var b = 0u; b < count; b++) {
      let time = firstBin + b;
      var drive = workspace[params.visibleDriveOffset + (at.pair * bins + time) * neuronCount + n];
      for (var k = 0u; k < hiddenCount; k++) {
        drive += w[k] * cz[b][k];
      }
      let rate = sigmoid(drive);
      let slope = rate * (1.0 - rate);
      var delta: f32;
      if (n < visibleCount) {
        let spikes = spikeCount(params.countsOffset, row, time, n);
        logJoint[b] += spikes * log(rate + EPS) - rate;
        delta = (spikes / (rate + EPS) - 1.0) * slope;
      } else {
        let unit = unitIndex(instance, time, n - visibleCount);
        var draw: Categories;
        for (var k = 0u; k < width; k++) {
          draw[k] = workspace[params.samplesOffset + unit * width + k];
        }
        logJoint[b] += logLikelihood(method, draw, rate, categoryCount, params.tau);
        delta = logLikelihoodMeanDerivative(method, draw, rate, categoryCount, params.tau) * slope;
        workspace[params.hiddenRatesOffset + unit] = rate;
      }
      let out = (instance * bins + time) * neuronCount + n;
      if (withGradient) {
        workspace[params.deltasOffset + out] = delta;
        for (var k = 0u; k < hiddenCount; k++) {
          driveGradient[b][k] += delta * w[k];
        }
      }
      if (storeRates) {
        workspace[params.ratesOffset + out] = rate;
      }
    }
  }
  for (var b = 0u; b < count; b++) {
    let time = firstBin + b;
    if (withGradient) {
      for (var k = 0u; k < hiddenCount; k++) {
        workspace[params.driveGradientOffset + unitIndex(instance, time, k)] = driveGradient[b][k];
      }
    }
    let term = params.weightTermsOffset + instance * bins + time;
    if (addToWeights) {
      workspace[term] += logJoint[b];
    } else {
      workspace[term] = logJoint[b];
    }
  }
}
