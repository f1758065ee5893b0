// The parts of both models' drives that depend on the visible data only, once per (model, sequence) and shared by
// all Monte Carlo samples:
//   generative:  visibleDrive[t][n]      = b[n] + sum_v W[n][v] cx[t][v]
//   variational: variationalDrive[t][h]  = bq[h] + sum_v Af[h][v] cx[t][v] (+ sum_v Ab[h][v] rx[t][v] for FB)
// A row per (model, slot) pair, a thread per bin. Outputs are formed in register tiles of TILE columns, so each input
// cx[t][v] is read once per tile; the model's weights are the same for the whole workgroup (uniform reads).
//#include "stage.wgsl"

struct Params {
  paramCount: u32,
  weightOffset: u32,
  biasOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  backwardOffset: u32,
  variationalBiasOffset: u32,
  convOffset: u32,
  backConvOffset: u32,
  visibleDriveOffset: u32,
  variationalDriveOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read> modelParams: array<f32>;
@group(0) @binding(4) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;

const TILE: u32 = 8u;

@compute @workgroup_size(workgroupSize)
fn drive(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
         @builtin(global_invocation_id) thread: vec3<u32>) {
  let pair = rowOfWorkgroup(group, groups);
  let time = thread.x;
  let bins = jobBins();
  if (pair >= pairCount() || time >= bins) {
    return;
  }
  let model = pair / chunkSlots();
  let row = slotRow(model, pair % chunkSlots());
  if (row == NO_SEQUENCE) {
    return;
  }
  let data = (row * bins + time) * visibleCount;
  let base = model * params.paramCount;
  let generativeOut = params.visibleDriveOffset + (pair * bins + time) * neuronCount;
  for (var first = 0u; first < neuronCount; first += TILE) {
    var sums: array<f32, TILE>;
    for (var r = 0u; r < TILE; r++) {
      sums[r] = modelParams[base + params.biasOffset + min(first + r, neuronCount - 1u)];
    }
    for (var v = 0u; v < visibleCount; v++) {
      let input = dataset[params.convOffset + data + v];
      for (var r = 0u; r < TILE; r++) {
        sums[r] += modelParams[base + params.weightOffset + min(first + r, neuronCount - 1u) * neuronCount + v] * input;
      }
    }
    for (var r = 0u; r < TILE; r++) {
      if (first + r < neuronCount) {
        workspace[generativeOut + first + r] = sums[r];
      }
    }
  }
  let variationalOut = params.variationalDriveOffset + (pair * bins + time) * hiddenCount;
  for (var first = 0u; first < hiddenCount; first += TILE) {
    var sums: array<f32, TILE>;
    for (var r = 0u; r < TILE; r++) {
      sums[r] = modelParams[base + params.variationalBiasOffset + min(first + r, hiddenCount - 1u)];
    }
    for (var v = 0u; v < visibleCount; v++) {
      let input = dataset[params.convOffset + data + v];
      for (var r = 0u; r < TILE; r++) {
        sums[r] += modelParams[base + params.forwardOffset + min(first + r, hiddenCount - 1u) * params.forwardColumns + v] * input;
      }
    }
    if (scheme == SCHEME_FB) {
      for (var v = 0u; v < visibleCount; v++) {
        let input = dataset[params.backConvOffset + data + v];
        for (var r = 0u; r < TILE; r++) {
          sums[r] += modelParams[base + params.backwardOffset + min(first + r, hiddenCount - 1u) * visibleCount + v] * input;
        }
      }
    }
    for (var r = 0u; r < TILE; r++) {
      if (first + r < hiddenCount) {
        workspace[variationalOut + first + r] = sums[r];
      }
    }
  }
}
