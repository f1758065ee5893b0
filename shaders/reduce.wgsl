// Reductions over bins, sequences and samples.
//   sumWeights:   w[instance] = sum_t weightTerms[instance][t] - sum_{t,v} ln x[t][v]!       (one thread per instance)
//   sumGradient:  the mean over the minibatch's (sequence, sample) pairs of each parameter's gradient, and the ELBO
//                 (one thread per (model, parameter), plus one per model for the ELBO). A non-finite ELBO or
//                 gradient records the step in failureStep[model], which freezes that model in the Adam stage.
//   gradient of theta:  dW[n][m] = sum delta[t][n] c[t][m],   db[n] = sum delta[t][n]       (c = [cx, cz])
//   gradient of phi:    dA[h][m] = sum s * g'[t][h] in[t][m], dbq[h] = sum s * g'[t][h]      (in = cx, cz (FS), rx (FB))
//   with s = 1 (pathwise) or s = w of the sample (score function).
//#include "grid.wgsl"
//#include "layout.wgsl"

struct Params {
  models: u32,
  slots: u32,
  samples: u32,
  bins: u32,
  visible: u32,
  hidden: u32,
  neurons: u32,
  paramCount: u32,
  biasOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  backwardOffset: u32,
  variationalBiasOffset: u32,
  stepsPerEpoch: u32,
  scheduleOffset: u32,
  convOffset: u32,
  backConvOffset: u32,
  logFactorialOffset: u32,
  weightTermsOffset: u32,
  sampleWeightsOffset: u32,
  deltasOffset: u32,
  hiddenConvOffset: u32,
  variationalGradientOffset: u32,
  gradientsOffset: u32,
  elboHistoryOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> control: array<u32>;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;
@group(0) @binding(4) var<storage, read_write> failureStep: array<atomic<u32>>;

override workgroupSize: u32 = 64u;
override scoreFunction: bool = false;

fn rowOf(model: u32, slot: u32) -> u32 {
  return control[params.scheduleOffset + scheduleIndex(control[0], params.stepsPerEpoch, params.models, params.slots, model, slot)];
}

@compute @workgroup_size(workgroupSize)
fn sumWeights(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
              @builtin(local_invocation_index) lane: u32) {
  let instance = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (instance >= params.models * params.slots * params.samples) {
    return;
  }
  let at = decodeInstance(instance, params.slots, params.samples);
  let row = rowOf(at.model, at.slot);
  if (row == NO_SEQUENCE) {
    workspace[params.sampleWeightsOffset + instance] = 0.0;
    return;
  }
  var total = -dataset[params.logFactorialOffset + row];
  for (var time = 0u; time < params.bins; time++) {
    total += workspace[params.weightTermsOffset + instance * params.bins + time];
  }
  workspace[params.sampleWeightsOffset + instance] = total;
}

// What one parameter's gradient sums: the per-bin factor (delta or g'), which of its columns, and the input.
struct Term {
  // 0: delta (theta), 1: variational gradient (phi).
  factor: u32,
  // Neuron n of delta, or hidden unit h of g'.
  unit: u32,
  // 0: bias (input 1), 1: cx[column], 2: cz[column], 3: rx[column].
  input: u32,
  column: u32,
}

fn termOf(parameter: u32) -> Term {
  let N = params.neurons;
  let V = params.visible;
  if (parameter < params.biasOffset) {
    let column = parameter % N;
    return Term(0u, parameter / N, select(2u, 1u, column < V), select(column - V, column, column < V));
  }
  if (parameter < params.forwardOffset) {
    return Term(0u, parameter - params.biasOffset, 0u, 0u);
  }
  if (parameter < params.backwardOffset) {
    let local = parameter - params.forwardOffset;
    let column = local % params.forwardColumns;
    return Term(1u, local / params.forwardColumns, select(2u, 1u, column < V), select(column - V, column, column < V));
  }
  if (parameter < params.variationalBiasOffset) {
    let local = parameter - params.backwardOffset;
    return Term(1u, local / V, 3u, local % V);
  }
  return Term(1u, parameter - params.variationalBiasOffset, 0u, 0u);
}

fn inputValue(term: Term, row: u32, instance: u32, time: u32) -> f32 {
  switch (term.input) {
    case 0u: { return 1.0; }
    case 1u: { return dataset[params.convOffset + (row * params.bins + time) * params.visible + term.column]; }
    case 2u: { return workspace[params.hiddenConvOffset + (instance * params.bins + time) * params.hidden + term.column]; }
    default: { return dataset[params.backConvOffset + (row * params.bins + time) * params.visible + term.column]; }
  }
}

fn factorValue(term: Term, instance: u32, time: u32) -> f32 {
  if (term.factor == 0u) {
    return workspace[params.deltasOffset + (instance * params.bins + time) * params.neurons + term.unit];
  }
  return workspace[params.variationalGradientOffset + (instance * params.bins + time) * params.hidden + term.unit];
}

// Inf or NaN, tested on the bits: WGSL lets compilers assume finite arithmetic, so a float comparison could be folded.
fn isNonFinite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7F800000u) == 0x7F800000u;
}

fn recordFailure(model: u32) {
  atomicMin(&failureStep[model], control[0]);
}

@compute @workgroup_size(workgroupSize)
fn sumGradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(local_invocation_index) lane: u32) {
  let slotsPerModel = params.paramCount + 1u;
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= params.models * slotsPerModel) {
    return;
  }
  let model = index / slotsPerModel;
  let parameter = index % slotsPerModel;
  var used = 0u;
  for (var slot = 0u; slot < params.slots; slot++) {
    used += select(0u, 1u, rowOf(model, slot) != NO_SEQUENCE);
  }
  let scale = 1.0 / f32(max(used, 1u) * params.samples);
  if (parameter == params.paramCount) {
    var elbo = 0.0;
    for (var slot = 0u; slot < params.slots; slot++) {
      if (rowOf(model, slot) == NO_SEQUENCE) {
        continue;
      }
      for (var draw = 0u; draw < params.samples; draw++) {
        elbo += workspace[params.sampleWeightsOffset + (model * params.slots + slot) * params.samples + draw];
      }
    }
    elbo *= scale;
    workspace[params.elboHistoryOffset + (control[0] % params.stepsPerEpoch) * params.models + model] = elbo;
    if (isNonFinite(elbo)) {
      recordFailure(model);
    }
    return;
  }
  let term = termOf(parameter);
  let weighted = scoreFunction && term.factor == 1u;
  var total = 0.0;
  for (var slot = 0u; slot < params.slots; slot++) {
    let row = rowOf(model, slot);
    if (row == NO_SEQUENCE) {
      continue;
    }
    for (var draw = 0u; draw < params.samples; draw++) {
      let instance = (model * params.slots + slot) * params.samples + draw;
      var sum = 0.0;
      for (var time = 0u; time < params.bins; time++) {
        sum += factorValue(term, instance, time) * inputValue(term, row, instance, time);
      }
      total += select(sum, sum * workspace[params.sampleWeightsOffset + instance], weighted);
    }
  }
  let gradient = total * scale;
  workspace[params.gradientsOffset + model * params.paramCount + parameter] = gradient;
  if (isNonFinite(gradient)) {
    recordFailure(model);
  }
}
