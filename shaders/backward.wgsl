// The variational model's backward pass: dJ/dg[t][h] for every hidden unit (derivation: docs/gradients.md).
//   score:    dJ/dg = d LL_D(z; mu)/d mu * mu(1-mu)         (scaled by the sample's weight w in the reduce stage)
//   pathwise: dJ/dz = sum_l psi[l-1] dJ/dcz[t+l] + d LL_D(z; lambda)/dz - d LL_D(z; mu)/dz
//             dJ/dmu = dJ/dz * dz/dmu - d LL_D(z; mu)/d mu,   dJ/dg = dJ/dmu * mu(1-mu)
//   where dJ/dcz[t][k] = driveGradient[t][k] (= sum_n delta[t][n] W[n][V+k], from the ln p stage), plus (FS)
//   sum_h dJ/dg[t][h] A[h][V+k].
// dz/dmu comes from the sampling stage (sampleSlope: continuous methods) or from the sample itself (Gumbel-Softmax), so
// no noise is redrawn here. F, FB and every score method: a row per instance, a thread per bin. FS pathwise: one
// thread per instance sweeping time backwards, because dJ/dcz of a bin depends on dJ/dg of the same bin.
//#include "stage.wgsl"
//#include "distributions.wgsl"

struct Params {
  paramCount: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  tau: f32,
  sampleSlopeOffset: u32,
  samplesOffset: u32,
  meansOffset: u32,
  hiddenRatesOffset: u32,
  driveGradientOffset: u32,
  variationalGradientOffset: u32,
  hiddenConvGradientOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> modelParams: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;
override method: u32 = 4u;
override pathwise: bool = true;

fn readSample(unit: u32) -> Categories {
  var draw: Categories;
  let width = select(1u, categoryCount, isGumbelSoftmax(method));
  for (var k = 0u; k < width; k++) {
    draw[k] = workspace[params.samplesOffset + unit * width + k];
  }
  return draw;
}

// dJ/dg of one unit given dJ/dcz summed over the later bins it feeds (`throughHistory`).
fn unitGradient(instance: u32, time: u32, h: u32, throughHistory: f32) -> f32 {
  let unit = unitIndex(instance, time, h);
  let draw = readSample(unit);
  let mean = workspace[params.meansOffset + unit];
  let slope = mean * (1.0 - mean);
  let meanDerivative = logLikelihoodMeanDerivative(method, draw, mean, categoryCount, params.tau);
  if (!pathwise) {
    return meanDerivative * slope;
  }
  let rate = workspace[params.hiddenRatesOffset + unit];
  let pGradient = logLikelihoodSampleGradient(method, draw, rate, categoryCount, params.tau);
  let qGradient = logLikelihoodSampleGradient(method, draw, mean, categoryCount, params.tau);
  let countSlope = countGradient(method, draw, categoryCount);
  var upstream: Categories;
  for (var k = 0u; k < MAX_CATEGORIES; k++) {
    upstream[k] = throughHistory * countSlope[k] + pGradient[k] - qGradient[k];
  }
  var throughSample: f32;
  if (isGumbelSoftmax(method)) {
    throughSample = gumbelSoftmaxMeanVjp(mean, draw, upstream, categoryCount, params.tau);
  } else {
    throughSample = upstream[0] * workspace[params.sampleSlopeOffset + unit];
  }
  return (throughSample - meanDerivative) * slope;
}

@compute @workgroup_size(workgroupSize)
fn backwardParallel(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                    @builtin(global_invocation_id) thread: vec3<u32>) {
  let instance = rowOfWorkgroup(group, groups);
  let time = thread.x;
  let bins = jobBins();
  if (instance >= instanceCount() || time >= bins) {
    return;
  }
  let at = decodeInstance(instance);
  if (slotRow(at.model, at.slot) == NO_SEQUENCE) {
    return;
  }
  for (var h = 0u; h < hiddenCount; h++) {
    var throughHistory = 0.0;
    if (pathwise) {
      for (var lag = 1u; lag <= basisCount; lag++) {
        if (time + lag < bins) {
          throughHistory += basisWeight(lag) * workspace[params.driveGradientOffset + unitIndex(instance, time + lag, h)];
        }
      }
    }
    workspace[params.variationalGradientOffset + unitIndex(instance, time, h)] = unitGradient(instance, time, h, throughHistory);
  }
}

@compute @workgroup_size(workgroupSize)
fn backwardSequential(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                      @builtin(local_invocation_index) lane: u32) {
  let instance = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (instance >= instanceCount()) {
    return;
  }
  let at = decodeInstance(instance);
  if (slotRow(at.model, at.slot) == NO_SEQUENCE) {
    return;
  }
  let H = hiddenCount;
  let bins = jobBins();
  let selfWeights = at.model * params.paramCount + params.forwardOffset + visibleCount;
  for (var step = 0u; step < bins; step++) {
    let time = bins - 1u - step;
    for (var h = 0u; h < H; h++) {
      var throughHistory = 0.0;
      for (var lag = 1u; lag <= basisCount && time + lag < bins; lag++) {
        throughHistory += basisWeight(lag) * workspace[params.hiddenConvGradientOffset + unitIndex(instance, time + lag, h)];
      }
      workspace[params.variationalGradientOffset + unitIndex(instance, time, h)] = unitGradient(instance, time, h, throughHistory);
    }
    for (var k = 0u; k < H; k++) {
      var total = workspace[params.driveGradientOffset + unitIndex(instance, time, k)];
      for (var h = 0u; h < H; h++) {
        total += workspace[params.variationalGradientOffset + unitIndex(instance, time, h)] * modelParams[selfWeights + h * params.forwardColumns + k];
      }
      workspace[params.hiddenConvGradientOffset + unitIndex(instance, time, k)] = total;
    }
  }
}
