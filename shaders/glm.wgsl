// The fully observed GLM (no hidden neurons): V visible neurons, W V x V on the convolved history, bias b, and its
// exact log-likelihood (docs/gradients.md with H = 0; no samples, so nothing is estimated):
//   a[t][n]  = b[n] + sum_m W[n][m] cx[t][m],   lambda = sigma(a)
//   ln p(X)  = sum_{t,n} [x ln(lambda+EPS) - lambda] - sum_{t,n} ln x!
//   delta[t][n] = d ln p / d a[t][n] = (x/(lambda+EPS) - 1) lambda(1-lambda)
//   dW[n][m] = sum_t delta[t][n] cx[t][m],   db[n] = sum_t delta[t][n]
// A job holds B models, each reading `chunkSlots` sequences of its minibatch per chunk (stage.wgsl: the control
// header, schedule and chunk words are those of the variational jobs, so adam.wgsl and advance.wgsl run on it as
// they are). A pair is one (model, chunk slot). Three entry points:
//   binLogLikelihood:      a row per pair, a thread per bin: the bin's ln p terms (all V neurons) and its deltas
//   sumGradient:           a row per model, a thread per parameter and one for ln p: the mean over the minibatch
//   sequenceLogLikelihood: a thread per pair: the sequence's ln p (evaluation)
// Why a thread per bin and not per (bin, neuron): the bin's V terms of ln p are summed in the thread, so ln p needs
// one value per bin and the reduction over a minibatch reads S x T values for ln p as for every gradient entry; the
// V drives of a bin share the loads of cx[t]. Bins are independent given the data, so T x S x B threads run at
// once: enough to fill a GPU for any real minibatch, and the x extent of a row vectorises on a CPU driver.
//#include "stage.wgsl"
//#include "counts.wgsl"
//#include "failure.wgsl"
//#include "special.wgsl"

struct Params {
  paramCount: u32,
  weightOffset: u32,
  biasOffset: u32,
  // Dataset regions (src/engine/dataset.ts datasetRegions), in f32 words; counts are packed 16-bit (counts.wgsl).
  countsOffset: u32,
  convOffset: u32,
  logFactorialOffset: u32,
  // Workspace regions (src/engine/glm.ts glmWorkspaceCounts).
  deltasOffset: u32,
  binLogLikelihoodOffset: u32,
  sequenceLogLikelihoodOffset: u32,
  gradientsOffset: u32,
  elboHistoryOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;
@group(0) @binding(6) var<storage, read> modelParams: array<f32>;

override workgroupSize: u32 = 64u;
// Training and gradient jobs keep delta; evaluation does not.
override withGradient: bool = true;

// [pair][bin] and [pair][bin][neuron] arrays of the workspace.
fn pairBin(pair: u32, time: u32) -> u32 {
  return pair * binCount + time;
}

// The convolved history cx[t][0] of dataset row `row`.
fn convRowStart(row: u32, time: u32) -> u32 {
  return params.convOffset + (row * binCount + time) * visibleCount;
}

@compute @workgroup_size(workgroupSize)
fn binLogLikelihood(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                    @builtin(global_invocation_id) thread: vec3<u32>) {
  let pair = rowOfWorkgroup(group, groups);
  let time = thread.x;
  if (pair >= pairCount() || time >= binCount) {
    return;
  }
  let model = pair / chunkSlots();
  let row = slotRow(model, pair % chunkSlots());
  // An empty slot (the short last minibatch) is skipped by the reductions, so nothing is written for it.
  if (row == NO_SEQUENCE) {
    return;
  }
  let weights = model * params.paramCount + params.weightOffset;
  let biases = model * params.paramCount + params.biasOffset;
  let history = convRowStart(row, time);
  let out = pairBin(pair, time);
  var total = 0.0;
  for (var n = 0u; n < visibleCount; n++) {
    var drive = modelParams[biases + n];
    for (var m = 0u; m < visibleCount; m++) {
      drive += modelParams[weights + n * visibleCount + m] * dataset[history + m];
    }
    let rate = sigmoid(drive);
    let count = spikeCount(params.countsOffset, row, time, n);
    total += count * log(rate + EPS) - rate;
    if (withGradient) {
      workspace[params.deltasOffset + out * visibleCount + n] = (count / (rate + EPS) - 1.0) * rate * (1.0 - rate);
    }
  }
  workspace[params.binLogLikelihoodOffset + out] = total;
}

// Sum over the chunk's sequences of one parameter's gradient (parameter < paramCount) or of ln p (the last thread).
fn chunkSum(model: u32, parameter: u32) -> f32 {
  let V = visibleCount;
  let isLogLikelihood = parameter == params.paramCount;
  let isBias = !isLogLikelihood && parameter >= V * V;
  // W[n][m] is parameter n V + m; b[n] is parameter V V + n.
  let n = select(parameter / V, parameter - V * V, isBias);
  let m = parameter % V;
  var total = 0.0;
  for (var slot = 0u; slot < chunkSlots(); slot++) {
    let row = slotRow(model, slot);
    if (row == NO_SEQUENCE) {
      continue;
    }
    let pair = model * chunkSlots() + slot;
    if (isLogLikelihood) {
      total -= dataset[params.logFactorialOffset + row];
      for (var time = 0u; time < binCount; time++) {
        total += workspace[params.binLogLikelihoodOffset + pairBin(pair, time)];
      }
    } else if (isBias) {
      for (var time = 0u; time < binCount; time++) {
        total += workspace[params.deltasOffset + pairBin(pair, time) * V + n];
      }
    } else {
      for (var time = 0u; time < binCount; time++) {
        total += workspace[params.deltasOffset + pairBin(pair, time) * V + n] * dataset[convRowStart(row, time) + m];
      }
    }
  }
  return total;
}

// The mean over the minibatch of every parameter's gradient and of ln p, as reduce.wgsl sumGradient does for the
// POGLM: a minibatch in several chunks sums each chunk into its output and divides after the last one; a non-finite
// mean records the step in failureStep[model], which freezes the model in the Adam stage.
@compute @workgroup_size(workgroupSize)
fn sumGradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(global_invocation_id) thread: vec3<u32>) {
  let model = rowOfWorkgroup(group, groups);
  let parameter = thread.x;
  let models = jobModels();
  if (model >= models || parameter > params.paramCount) {
    return;
  }
  var total = chunkSum(model, parameter);
  let out = select(params.gradientsOffset + model * params.paramCount + parameter,
                   params.elboHistoryOffset + control[CONTROL_STEP_IN_EPOCH] * models + model,
                   parameter == params.paramCount);
  if (!isFirstChunk()) {
    total += workspace[out];
  }
  if (!isLastChunk()) {
    workspace[out] = total;
    return;
  }
  var used = 0u;
  for (var chunk = 0u; chunk < control[CONTROL_CHUNKS]; chunk++) {
    for (var slot = 0u; slot < chunkSlots(); slot++) {
      used += select(1u, 0u, scheduleEntry(chunk, model, slot) == NO_SEQUENCE);
    }
  }
  let mean = total / f32(max(used, 1u));
  workspace[out] = mean;
  if (isNonFinite(mean)) {
    recordFailure(model);
  }
}

@compute @workgroup_size(workgroupSize)
fn sequenceLogLikelihood(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                         @builtin(local_invocation_index) lane: u32) {
  let pair = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (pair >= pairCount()) {
    return;
  }
  let row = slotRow(pair / chunkSlots(), pair % chunkSlots());
  if (row == NO_SEQUENCE) {
    workspace[params.sequenceLogLikelihoodOffset + pair] = 0.0;
    return;
  }
  var total = -dataset[params.logFactorialOffset + row];
  for (var time = 0u; time < binCount; time++) {
    total += workspace[params.binLogLikelihoodOffset + pairBin(pair, time)];
  }
  workspace[params.sequenceLogLikelihoodOffset + pair] = total;
}
