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
  return control[params.scheduleOffset + scheduleIndex(control[1], params.models, params.slots, model, slot)];
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

// What one parameter's gradient sums: factor[t][unit] * input[t][column] over bins, samples and sequences, where the
// factor is delta (theta) or dJ/dg (phi) and the input is 1 (biases), cx, cz (FS and W's hidden columns) or rx (FB).
struct Term {
  parameter: u32,
  // 0: delta (theta), 1: variational gradient (phi).
  factor: u32,
  unit: u32,
  // 0: bias (input 1), 1: cx[column], 2: cz[column], 3: rx[column].
  input: u32,
  column: u32,
}

// Threads of a model's row take its parameters grouped by the kind of input they sum against, so that neighbouring
// threads run the same loop: W's visible columns, W's hidden columns, b, the forward weights' visible columns, (FS)
// their hidden columns, (FB) the backward weights, the variational bias. Index paramCount is the ELBO.
fn termOf(index: u32) -> Term {
  let N = params.neurons;
  let V = params.visible;
  let H = params.hidden;
  let Fc = params.forwardColumns;
  var j = index;
  if (j < N * V) {
    return Term(j / V * N + j % V, 0u, j / V, 1u, j % V);
  }
  j -= N * V;
  if (j < N * H) {
    return Term(j / H * N + V + j % H, 0u, j / H, 2u, j % H);
  }
  j -= N * H;
  if (j < N) {
    return Term(params.biasOffset + j, 0u, j, 0u, 0u);
  }
  j -= N;
  if (j < H * V) {
    return Term(params.forwardOffset + j / V * Fc + j % V, 1u, j / V, 1u, j % V);
  }
  j -= H * V;
  let selfColumns = Fc - V;
  if (j < H * selfColumns) {
    return Term(params.forwardOffset + j / selfColumns * Fc + V + j % selfColumns, 1u, j / selfColumns, 2u, j % selfColumns);
  }
  j -= H * selfColumns;
  let backward = params.variationalBiasOffset - params.backwardOffset;
  if (j < backward) {
    return Term(params.backwardOffset + j, 1u, j / V, 3u, j % V);
  }
  j -= backward;
  return Term(params.variationalBiasOffset + j, 1u, j, 0u, 0u);
}

// Inf or NaN, tested on the bits: WGSL lets compilers assume finite arithmetic, so a float comparison could be folded.
fn isNonFinite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7F800000u) == 0x7F800000u;
}

fn recordFailure(model: u32) {
  atomicMin(&failureStep[model], control[0]);
}

// A row per model, a thread per parameter (plus one for the ELBO).
@compute @workgroup_size(workgroupSize)
fn sumGradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(global_invocation_id) thread: vec3<u32>) {
  let model = rowOfWorkgroup(group, groups);
  let index = thread.x;
  if (model >= params.models || index > params.paramCount) {
    return;
  }
  var used = 0u;
  for (var slot = 0u; slot < params.slots; slot++) {
    used += select(0u, 1u, rowOf(model, slot) != NO_SEQUENCE);
  }
  let scale = 1.0 / f32(max(used, 1u) * params.samples);
  if (index == params.paramCount) {
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
    workspace[params.elboHistoryOffset + control[1] * params.models + model] = elbo;
    if (isNonFinite(elbo)) {
      recordFailure(model);
    }
    return;
  }
  let term = termOf(index);
  let T = params.bins;
  let H = params.hidden;
  let V = params.visible;
  let units = select(H, params.neurons, term.factor == 0u);
  let factorBase = select(params.variationalGradientOffset, params.deltasOffset, term.factor == 0u) + term.unit;
  let dataBase = select(params.backConvOffset, params.convOffset, term.input == 1u) + term.column;
  let weighted = scoreFunction && term.factor == 1u;
  var total = 0.0;
  for (var slot = 0u; slot < params.slots; slot++) {
    let row = rowOf(model, slot);
    if (row == NO_SEQUENCE) {
      continue;
    }
    for (var draw = 0u; draw < params.samples; draw++) {
      let instance = (model * params.slots + slot) * params.samples + draw;
      let factorAt = factorBase + instance * T * units;
      var sum = 0.0;
      switch (term.input) {
        case 0u: {
          for (var t = 0u; t < T; t++) {
            sum += workspace[factorAt + t * units];
          }
        }
        case 2u: {
          let inputAt = params.hiddenConvOffset + instance * T * H + term.column;
          for (var t = 0u; t < T; t++) {
            sum += workspace[factorAt + t * units] * workspace[inputAt + t * H];
          }
        }
        default: {
          let inputAt = dataBase + row * T * V;
          for (var t = 0u; t < T; t++) {
            sum += workspace[factorAt + t * units] * dataset[inputAt + t * V];
          }
        }
      }
      total += select(sum, sum * workspace[params.sampleWeightsOffset + instance], weighted);
    }
  }
  let gradient = total * scale;
  workspace[params.gradientsOffset + model * params.paramCount + term.parameter] = gradient;
  if (isNonFinite(gradient)) {
    recordFailure(model);
  }
}
