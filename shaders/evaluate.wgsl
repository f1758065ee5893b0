// Evaluation: the importance weights of M samples per test sequence with both models switched to Poisson, and their
// running statistics over chunks of samples.
//   evaluateSamples:     w = ln p(X, Z) - ln q(Z | X) of one sample, Z ~ q, through all bins in one thread. A row per
//                        (model, sequence) pair, a thread per sample: everything a thread reads (data, drives,
//                        weights) is the same for the whole workgroup, and each sample's hidden history stays in
//                        registers, so the only per-thread memory traffic is the one weight it writes.
//   accumulateEvidence:  per pair, a running log-sum-exp (max and scaled sum) for the marginal likelihood
//                        logsumexp(w) - ln M and a running sum for the ELBO mean(w):
//                        evidence[pair] = (max w, sum exp(w - max), sum w, count).
// The noise is the Philox stream the sampling stage would draw (same key and counter), so this kernel and the staged
// sample q -> ln p path give the same weights.
//#include "stage.wgsl"
//#include "counts.wgsl"
//#include "noise.wgsl"
//#include "distributions.wgsl"

struct Params {
  // How many of the chunk's samples (the stride, samplesPerSlot) the evidence counts: the last chunk may be partial.
  validSamples: u32,
  paramCount: u32,
  weightOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  purpose: u32,
  // The chunk's first sample in the noise counter.
  sampleOffset: u32,
  countsOffset: u32,
  logFactorialOffset: u32,
  visibleDriveOffset: u32,
  variationalDriveOffset: u32,
  sampleWeightsOffset: u32,
  evidenceOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read> modelParams: array<f32>;
@group(0) @binding(4) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;

// The hidden history kept per thread: basisCount x hiddenCount counts (checked by the host).
const MAX_HISTORY: u32 = 256u;

// Samples per thread: every drive, count and weight a thread loads serves this many samples (loads cost about as much
// as arithmetic on a CPU driver; on a GPU they are cached broadcasts, and the extra samples add independent work).
// The host takes 8 where the hidden history is small and 4 elsewhere (src/engine/programs.ts
// evaluationSamplesPerThread), so that a thread's histories still fit its registers on a GPU.
const MAX_PER_THREAD: u32 = 8u;
override samplesPerThread: u32 = 4u;

// A small model's weights on the hidden history, W[n][V+k] and (FS) A[h][V+k], stay in a thread's registers for the
// whole sequence instead of being loaded again in every bin; a larger model's would not fit, and are loaded per bin.
const HELD_NEURONS: u32 = 8u;
const HELD_HIDDEN: u32 = 4u;

fn holdsWeights() -> bool {
  return neuronCount <= HELD_NEURONS && hiddenCount <= HELD_HIDDEN;
}

struct HeldWeights {
  generative: array<array<f32, HELD_HIDDEN>, HELD_NEURONS>,
  selfWeights: array<array<f32, HELD_HIDDEN>, HELD_HIDDEN>,
}

fn holdWeights(weights: u32, selfWeightsAt: u32) -> HeldWeights {
  var held: HeldWeights;
  if (!holdsWeights()) {
    return held;
  }
  for (var n = 0u; n < neuronCount; n++) {
    for (var k = 0u; k < hiddenCount; k++) {
      held.generative[n][k] = modelParams[weights + n * neuronCount + visibleCount + k];
    }
  }
  if (scheme == SCHEME_FS) {
    for (var h = 0u; h < hiddenCount; h++) {
      for (var k = 0u; k < hiddenCount; k++) {
        held.selfWeights[h][k] = modelParams[selfWeightsAt + h * params.forwardColumns + k];
      }
    }
  }
  return held;
}

// The weight of a sample is ln p(X, Z) - ln q(Z | X) with both models Poisson. Its hidden terms are
// z ln(rate + EPS) - rate - ln z! under p and z ln(mean + EPS) - mean - ln z! under q: ln z! cancels, so neither is
// formed (each would be a per-lane table lookup). A visible term with a count of zero (the same count for the whole
// workgroup, so the branch does not diverge) is just -rate. The visible counts' sum ln x! comes from the dataset.
// A thread follows samplesPerThread samples (draw, draw + 1, ...) through the bins together.
@compute @workgroup_size(workgroupSize)
fn evaluateSamples(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                   @builtin(global_invocation_id) thread: vec3<u32>) {
  let pair = rowOfWorkgroup(group, groups);
  let first = thread.x * samplesPerThread;
  let samples = jobSamples();
  if (pair >= pairCount() || first >= samples) {
    return;
  }
  let model = pair / chunkSlots();
  let slot = pair % chunkSlots();
  let out = params.sampleWeightsOffset + pair * samples + first;
  let row = slotRow(model, slot);
  if (row == NO_SEQUENCE) {
    for (var j = 0u; j < samplesPerThread; j++) {
      if (first + j < samples) {
        workspace[out + j] = 0.0;
      }
    }
    return;
  }
  let key = noiseKey(seedOf(model), params.purpose, stepCounter());
  let weights = model * params.paramCount + params.weightOffset;
  let selfWeightsAt = model * params.paramCount + params.forwardOffset + visibleCount;
  // history[j][(lag - 1) * H + k] = z[t - lag][k] of sample j; zero before the first bin. The per-bin arrays live
  // outside the loop so that they are not zeroed again in every bin.
  var history: array<array<f32, MAX_HISTORY>, MAX_PER_THREAD>;
  var cz: array<array<f32, MAX_HIDDEN>, MAX_PER_THREAD>;
  var counts: array<array<f32, MAX_HIDDEN>, MAX_PER_THREAD>;
  var logWeight: array<f32, MAX_PER_THREAD>;
  let logFactorials = dataset[params.logFactorialOffset + row];
  for (var j = 0u; j < samplesPerThread; j++) {
    logWeight[j] = -logFactorials;
  }
  let bins = jobBins();
  let held = holdWeights(weights, selfWeightsAt);
  for (var time = 0u; time < bins; time++) {
    for (var j = 0u; j < samplesPerThread; j++) {
      for (var k = 0u; k < hiddenCount; k++) {
        var sum = 0.0;
        for (var lag = 1u; lag <= basisCount; lag++) {
          sum += basisWeight(lag) * history[j][(lag - 1u) * hiddenCount + k];
        }
        cz[j][k] = sum;
      }
    }
    let variational = params.variationalDriveOffset + (pair * bins + time) * hiddenCount;
    var caches: array<NoiseWords, MAX_PER_THREAD>;
    for (var j = 0u; j < samplesPerThread; j++) {
      caches[j] = freshNoiseWords();
    }
    for (var h = 0u; h < hiddenCount; h++) {
      let variationalDrive = workspace[variational + h];
      // F and FB: q's mean depends on the data alone, so its exp, log and first CDF terms serve all the samples.
      let sharedMean = sigmoid(variationalDrive);
      let sharedLogMean = log(sharedMean + EPS);
      let sharedSteps = poissonSteps(sharedMean);
      for (var j = 0u; j < samplesPerThread; j++) {
        // Samples past the chunk's end draw a valid stream; their weights are never written.
        let u = drawUnitNoise(&caches[j], NOISE_UNIFORM, key, time, h, first + j + params.sampleOffset, minibatchSlot(slot), 1u)[0];
        var mean = sharedMean;
        if (scheme == SCHEME_FS) {
          var drive = variationalDrive;
          for (var k = 0u; k < hiddenCount; k++) {
            if (holdsWeights()) {
              drive += held.selfWeights[h][k] * cz[j][k];
            } else {
              drive += modelParams[selfWeightsAt + h * params.forwardColumns + k] * cz[j][k];
            }
          }
          mean = sigmoid(drive);
          counts[j][h] = poissonInversion(mean, u);
          // -ln q; the generative loop below adds ln p.
          logWeight[j] += mean - counts[j][h] * log(mean + EPS);
        } else {
          counts[j][h] = poissonInversionFromSteps(mean, u, sharedSteps);
          logWeight[j] += mean - counts[j][h] * sharedLogMean;
        }
      }
    }
    let generative = params.visibleDriveOffset + (pair * bins + time) * neuronCount;
    for (var n = 0u; n < neuronCount; n++) {
      let generativeDrive = workspace[generative + n];
      var w: array<f32, MAX_HIDDEN>;
      for (var k = 0u; k < hiddenCount; k++) {
        if (holdsWeights()) {
          w[k] = held.generative[n][k];
        } else {
          w[k] = modelParams[weights + n * neuronCount + visibleCount + k];
        }
      }
      var count = 0.0;
      if (n < visibleCount) {
        count = spikeCount(params.countsOffset, row, time, n);
      }
      for (var j = 0u; j < samplesPerThread; j++) {
        var drive = generativeDrive;
        for (var k = 0u; k < hiddenCount; k++) {
          drive += w[k] * cz[j][k];
        }
        let rate = sigmoid(drive);
        if (n < visibleCount) {
          if (count != 0.0) {
            logWeight[j] += count * log(rate + EPS);
          }
          logWeight[j] -= rate;
        } else {
          logWeight[j] += counts[j][n - visibleCount] * log(rate + EPS) - rate;
        }
      }
    }
    for (var j = 0u; j < samplesPerThread; j++) {
      for (var lag = basisCount; lag > 1u; lag--) {
        for (var k = 0u; k < hiddenCount; k++) {
          history[j][(lag - 1u) * hiddenCount + k] = history[j][(lag - 2u) * hiddenCount + k];
        }
      }
      for (var k = 0u; k < hiddenCount; k++) {
        history[j][k] = counts[j][k];
      }
    }
  }
  for (var j = 0u; j < samplesPerThread; j++) {
    if (first + j < samples) {
      workspace[out + j] = logWeight[j];
    }
  }
}

@compute @workgroup_size(workgroupSize)
fn accumulateEvidence(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                      @builtin(local_invocation_index) lane: u32) {
  let pair = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (pair >= pairCount()) {
    return;
  }
  let at = params.evidenceOffset + 4u * pair;
  var state = vec4<f32>(workspace[at], workspace[at + 1u], workspace[at + 2u], workspace[at + 3u]);
  for (var draw = 0u; draw < params.validSamples; draw++) {
    let weight = workspace[params.sampleWeightsOffset + pair * jobSamples() + draw];
    if (state.w == 0.0) {
      state = vec4<f32>(weight, 1.0, weight, 1.0);
      continue;
    }
    if (weight > state.x) {
      state.y = state.y * exp(state.x - weight) + 1.0;
      state.x = weight;
    } else {
      state.y += exp(weight - state.x);
    }
    state.z += weight;
    state.w += 1.0;
  }
  workspace[at] = state.x;
  workspace[at + 1u] = state.y;
  workspace[at + 2u] = state.z;
  workspace[at + 3u] = state.w;
}
