// Sampling the hidden spikes from q(Z | X) and scoring them: mu = sigma(g), z = r(mu, noise), and -ln q per bin
// (written to weightTerms, to which the log-likelihood stage adds ln p).
//   F, FB: g depends on the visible data only, so every bin is independent — one thread per (instance, bin).
//   FS:    g[t] reads the convolved history of the samples already drawn — one thread per instance, in time order.
// The noise comes from the instance's Philox stream, or from a caller's buffer, or the samples themselves are given
// (then only ln q is computed), as the `noiseSource` override says. For the continuous pathwise methods the stage also
// stores dz/dmu (`storeSlope`), all that the backward pass needs of the noise.
//#include "stage.wgsl"
//#include "noise.wgsl"
//#include "distributions.wgsl"

struct Params {
  paramCount: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  noiseWidth: u32,
  tau: f32,
  purpose: u32,
  variationalDriveOffset: u32,
  externalNoiseOffset: u32,
  samplesOffset: u32,
  hiddenCountsOffset: u32,
  meansOffset: u32,
  hiddenConvOffset: u32,
  weightTermsOffset: u32,
  sampleSlopeOffset: u32,
  // The first sample index of this chunk's noise counters (0 in training): a job that draws its M samples in
  // chunks (the posterior, src/engine/posterior.ts) then gives sample m the same noise whatever the chunking.
  sampleOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> modelParams: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;
override method: u32 = 4u;
override noiseKind: u32 = 0u;
// 0: draw from Philox, 1: read base noise from the externalNoise region, 2: samples are given.
override noiseSource: u32 = 0u;
const NOISE_FROM_BUFFER: u32 = 1u;
const SAMPLES_GIVEN: u32 = 2u;
// Keep dz/dmu of each sample for the backward pass (training with exponential, Rayleigh or half-normal).
override storeSlope: bool = false;

fn sampleWidth() -> u32 {
  return select(1u, categoryCount, isGumbelSoftmax(method));
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
  return drawUnitNoise(cache, noiseKind, key, time, h, at.sampleIndex + params.sampleOffset, minibatchSlot(at.slot), params.noiseWidth);
}

// Draws (or reads, when given) the sample of one hidden unit, stores it with its count and mean, returns ln q.
fn sampleUnit(cache: ptr<function, NoiseWords>, at: Instance, instance: u32, time: u32, h: u32, mean: f32) -> f32 {
  let unit = unitIndex(instance, time, h);
  let width = sampleWidth();
  let start = params.samplesOffset + unit * width;
  var draw: Categories;
  if (noiseSource == SAMPLES_GIVEN) {
    for (var k = 0u; k < width; k++) {
      draw[k] = workspace[start + k];
    }
  } else {
    let noise = baseNoise(cache, at, instance, time, h);
    draw = sampleFromNoise(method, mean, noise, categoryCount, params.tau);
    for (var k = 0u; k < width; k++) {
      workspace[start + k] = draw[k];
    }
    if (storeSlope) {
      workspace[params.sampleSlopeOffset + unit] = reparameterisationSlope(method, noise);
    }
  }
  workspace[params.hiddenCountsOffset + unit] = sampleCount(method, draw, categoryCount);
  workspace[params.meansOffset + unit] = mean;
  return logLikelihood(method, draw, mean, categoryCount, params.tau);
}

// F and FB: a row per instance, a thread per bin.
@compute @workgroup_size(workgroupSize)
fn sampleParallel(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
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
  var logQ = 0.0;
  var cache = freshNoiseWords();
  for (var h = 0u; h < hiddenCount; h++) {
    let mean = sigmoid(workspace[params.variationalDriveOffset + (at.pair * bins + time) * hiddenCount + h]);
    logQ += sampleUnit(&cache, at, instance, time, h, mean);
  }
  workspace[params.weightTermsOffset + instance * bins + time] = -logQ;
}

// FS: one thread per instance, in time order; g[t][h] adds sum_k A[h][V+k] cz[t][k] of the samples drawn so far.
@compute @workgroup_size(workgroupSize)
fn sampleSequential(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
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
  for (var time = 0u; time < bins; time++) {
    for (var k = 0u; k < H; k++) {
      var sum = 0.0;
      for (var lag = 1u; lag <= min(basisCount, time); lag++) {
        sum += basisWeight(lag) * workspace[params.hiddenCountsOffset + unitIndex(instance, time - lag, k)];
      }
      workspace[params.hiddenConvOffset + unitIndex(instance, time, k)] = sum;
    }
    var logQ = 0.0;
    var cache = freshNoiseWords();
    for (var h = 0u; h < H; h++) {
      var drive = workspace[params.variationalDriveOffset + (at.pair * bins + time) * H + h];
      for (var k = 0u; k < H; k++) {
        drive += modelParams[selfWeights + h * params.forwardColumns + k] * workspace[params.hiddenConvOffset + unitIndex(instance, time, k)];
      }
      logQ += sampleUnit(&cache, at, instance, time, h, sigmoid(drive));
    }
    workspace[params.weightTermsOffset + instance * bins + time] = -logQ;
  }
}
