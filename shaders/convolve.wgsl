// Causal and anti-causal convolution of spike trains with the history basis (cx and rx).
// One thread per (row, time bin, channel); rows are independent sequences laid out [row][bin][channel].
//#include "grid.wgsl"

struct Params {
  rows: u32,
  bins: u32,
  channels: u32,
  basisLength: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> basis: array<f32>;
@group(0) @binding(2) var<storage, read> spikes: array<f32>;
@group(0) @binding(3) var<storage, read_write> convolved: array<f32>;

override workgroupSize: u32 = 64u;

// cx[t] = sum_{l=1..L} psi[l-1] x[t-l], zero before the first bin.
@compute @workgroup_size(workgroupSize)
fn convolveCausal(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                  @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= params.rows * params.bins * params.channels) {
    return;
  }
  let channel = index % params.channels;
  let time = (index / params.channels) % params.bins;
  let rowStart = index - channel - time * params.channels;
  var sum = 0.0;
  for (var lag = 1u; lag <= min(params.basisLength, time); lag++) {
    sum += basis[lag - 1u] * spikes[rowStart + (time - lag) * params.channels + channel];
  }
  convolved[index] = sum;
}

// rx[t] = sum_{l=1..L} psi[l-1] x[t+l], zero after the last bin.
@compute @workgroup_size(workgroupSize)
fn convolveAntiCausal(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                      @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= params.rows * params.bins * params.channels) {
    return;
  }
  let channel = index % params.channels;
  let time = (index / params.channels) % params.bins;
  let rowStart = index - channel - time * params.channels;
  var sum = 0.0;
  for (var lag = 1u; lag <= params.basisLength && time + lag < params.bins; lag++) {
    sum += basis[lag - 1u] * spikes[rowStart + (time + lag) * params.channels + channel];
  }
  convolved[index] = sum;
}
