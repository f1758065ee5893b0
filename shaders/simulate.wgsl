// Simulation of the full POGLM: every neuron Poisson with rate sigma(b + W c[t]), zero history before t = 0.
// One thread per (model, sequence), sequential in time inside the thread because c[t] reads the spikes just drawn.
// The convolved history c[t] is written out as it is formed: the thread's scratch, in a buffer the host does not read.
//#include "grid.wgsl"
//#include "noise.wgsl"
//#include "distributions.wgsl"

struct Params {
  models: u32,
  sequences: u32,
  bins: u32,
  neurons: u32,
  basisLength: u32,
  paramCount: u32,
  weightOffset: u32,
  biasOffset: u32,
  // Added to the sequence index in the noise counter, so a job split in chunks draws what one job would.
  sequenceOffset: u32,
  purpose: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> basis: array<f32>;
@group(0) @binding(2) var<storage, read> modelParams: array<f32>;
@group(0) @binding(3) var<storage, read> modelSeeds: array<u32>;
// [model][sequence][bin][neuron]
@group(0) @binding(4) var<storage, read_write> spikes: array<f32>;
@group(0) @binding(5) var<storage, read_write> history: array<f32>;

override workgroupSize: u32 = 64u;

@compute @workgroup_size(workgroupSize)
fn simulate(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= params.models * params.sequences) {
    return;
  }
  let model = index / params.sequences;
  let sequence = index % params.sequences;
  let N = params.neurons;
  let base = index * params.bins * N;
  let weights = model * params.paramCount + params.weightOffset;
  let biases = model * params.paramCount + params.biasOffset;
  let key = noiseKey(modelSeeds[model], params.purpose, 0u);
  for (var time = 0u; time < params.bins; time++) {
    // Neuron n takes word n of the bin's stream: one Philox call serves four neurons.
    var cache = freshNoiseWords();
    let row = base + time * N;
    for (var m = 0u; m < N; m++) {
      var sum = 0.0;
      for (var lag = 1u; lag <= min(params.basisLength, time); lag++) {
        sum += basis[lag - 1u] * spikes[row - lag * N + m];
      }
      history[row + m] = sum;
    }
    for (var n = 0u; n < N; n++) {
      var drive = modelParams[biases + n];
      for (var m = 0u; m < N; m++) {
        drive += modelParams[weights + n * N + m] * history[row + m];
      }
      let word = noiseWord(&cache, key, time, n, 0u, sequence + params.sequenceOffset);
      spikes[row + n] = poissonInversion(sigmoid(drive), uniformFromBits(word));
    }
  }
}
