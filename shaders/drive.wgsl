// The parts of both models' drives that depend on the visible data only, once per (model, sequence) and shared by
// all Monte Carlo samples:
//   generative:  visibleDrive[t][n]      = b[n] + sum_v W[n][v] cx[t][v]
//   variational: variationalDrive[t][h]  = bq[h] + sum_v Af[h][v] cx[t][v] (+ sum_v Ab[h][v] rx[t][v] for FB)
// A row per (model, slot) pair, a thread per bin computing every column, so cx[t] and rx[t] are read once per bin.
//#include "grid.wgsl"
//#include "layout.wgsl"

struct Params {
  models: u32,
  slots: u32,
  bins: u32,
  visible: u32,
  hidden: u32,
  neurons: u32,
  paramCount: u32,
  weightOffset: u32,
  biasOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  backwardOffset: u32,
  variationalBiasOffset: u32,
  scheduleOffset: u32,
  convOffset: u32,
  backConvOffset: u32,
  visibleDriveOffset: u32,
  variationalDriveOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> control: array<u32>;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read> modelParams: array<f32>;
@group(0) @binding(4) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;
// 0 = F, 1 = FS, 2 = FB.
override scheme: u32 = 0u;

@compute @workgroup_size(workgroupSize)
fn drive(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
         @builtin(global_invocation_id) thread: vec3<u32>) {
  let pair = rowOfWorkgroup(group, groups);
  let time = thread.x;
  if (pair >= params.models * params.slots || time >= params.bins) {
    return;
  }
  let model = pair / params.slots;
  let row = control[params.scheduleOffset + scheduleIndex(control[1], params.models, params.slots, model, pair % params.slots)];
  if (row == NO_SEQUENCE) {
    return;
  }
  let V = params.visible;
  let N = params.neurons;
  let H = params.hidden;
  let data = (row * params.bins + time) * V;
  let base = model * params.paramCount;
  let generativeOut = params.visibleDriveOffset + (pair * params.bins + time) * N;
  for (var n = 0u; n < N; n++) {
    let weights = base + params.weightOffset + n * N;
    var sum = modelParams[base + params.biasOffset + n];
    for (var v = 0u; v < V; v++) {
      sum += modelParams[weights + v] * dataset[params.convOffset + data + v];
    }
    workspace[generativeOut + n] = sum;
  }
  let variationalOut = params.variationalDriveOffset + (pair * params.bins + time) * H;
  for (var h = 0u; h < H; h++) {
    let forward = base + params.forwardOffset + h * params.forwardColumns;
    var sum = modelParams[base + params.variationalBiasOffset + h];
    for (var v = 0u; v < V; v++) {
      sum += modelParams[forward + v] * dataset[params.convOffset + data + v];
    }
    if (scheme == 2u) {
      let backward = base + params.backwardOffset + h * V;
      for (var v = 0u; v < V; v++) {
        sum += modelParams[backward + v] * dataset[params.backConvOffset + data + v];
      }
    }
    workspace[variationalOut + h] = sum;
  }
}
