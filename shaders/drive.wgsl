// The parts of both models' drives that depend on the visible data only, once per (model, sequence) and shared by
// all Monte Carlo samples:
//   generative:  visibleDrive[t][n]      = b[n] + sum_v W[n][v] cx[t][v]
//   variational: variationalDrive[t][h]  = bq[h] + sum_v Af[h][v] cx[t][v] (+ sum_v Ab[h][v] rx[t][v] for FB)
// Both are small matrix products per pair (T x V times V x N, and V x H): a thread forms an 8 x 8 tile of outputs in
// registers, so each word it loads feeds 8 multiply-adds.
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

// A thread's register tile: 8 bins x 8 outputs, so per visible neuron it loads 8 inputs and 8 weights for 64
// multiply-adds.
const BINS: u32 = 8u;
const OUTPUTS: u32 = 8u;

fn generativeBlocks() -> u32 {
  return (neuronCount + OUTPUTS - 1u) / OUTPUTS;
}

fn outputBlocks() -> u32 {
  return generativeBlocks() + (hiddenCount + OUTPUTS - 1u) / OUTPUTS;
}

// Weight of visible input v for output `unit` of the block's kind; `second` selects FB's backward weights.
fn weightOf(model: u32, generative: bool, second: bool, unit: u32, v: u32) -> f32 {
  let base = model * params.paramCount;
  if (generative) {
    return modelParams[base + params.weightOffset + unit * neuronCount + v];
  }
  if (second) {
    return modelParams[base + params.backwardOffset + unit * visibleCount + v];
  }
  return modelParams[base + params.forwardOffset + unit * params.forwardColumns + v];
}

// A row per (model, slot) pair; a thread per (block of 8 bins, block of 8 outputs), bin blocks fastest.
@compute @workgroup_size(workgroupSize)
fn drive(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
         @builtin(global_invocation_id) thread: vec3<u32>) {
  let pair = rowOfWorkgroup(group, groups);
  let bins = jobBins();
  let binBlocks = (bins + BINS - 1u) / BINS;
  let outputBlock = thread.x / binBlocks;
  let firstBin = thread.x % binBlocks * BINS;
  if (pair >= pairCount() || outputBlock >= outputBlocks()) {
    return;
  }
  let model = pair / chunkSlots();
  let row = slotRow(model, pair % chunkSlots());
  if (row == NO_SEQUENCE) {
    return;
  }
  let generative = outputBlock < generativeBlocks();
  let units = select(hiddenCount, neuronCount, generative);
  let firstUnit = select((outputBlock - generativeBlocks()) * OUTPUTS, outputBlock * OUTPUTS, generative);
  var sums: array<array<f32, OUTPUTS>, BINS>;
  let biasBase = model * params.paramCount + select(params.variationalBiasOffset, params.biasOffset, generative);
  for (var j = 0u; j < OUTPUTS; j++) {
    let bias = modelParams[biasBase + min(firstUnit + j, units - 1u)];
    for (var i = 0u; i < BINS; i++) {
      sums[i][j] = bias;
    }
  }
  // Bins past the end read the last bin, outputs past the end the last output; neither is written.
  let passes = select(1u, 2u, !generative && scheme == SCHEME_FB);
  for (var second = 0u; second < passes; second++) {
    let inputs = select(params.convOffset, params.backConvOffset, second == 1u) + row * bins * visibleCount;
    for (var v = 0u; v < visibleCount; v++) {
      var x: array<f32, BINS>;
      var w: array<f32, OUTPUTS>;
      for (var i = 0u; i < BINS; i++) {
        x[i] = dataset[inputs + min(firstBin + i, bins - 1u) * visibleCount + v];
      }
      for (var j = 0u; j < OUTPUTS; j++) {
        w[j] = weightOf(model, generative, second == 1u, min(firstUnit + j, units - 1u), v);
      }
      for (var i = 0u; i < BINS; i++) {
        for (var j = 0u; j < OUTPUTS; j++) {
          sums[i][j] += x[i] * w[j];
        }
      }
    }
  }
  let stride = select(hiddenCount, neuronCount, generative);
  let out = select(params.variationalDriveOffset, params.visibleDriveOffset, generative) + pair * bins * stride;
  for (var i = 0u; i < BINS; i++) {
    for (var j = 0u; j < OUTPUTS; j++) {
      if (firstBin + i < bins && firstUnit + j < units) {
        workspace[out + (firstBin + i) * stride + firstUnit + j] = sums[i][j];
      }
    }
  }
}
