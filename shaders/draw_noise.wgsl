// Draws base noise on the GPU exactly as the sampling stages do, for users who want to reproduce or inspect a
// fit's noise, and for the tests that hold the WGSL generator to its TypeScript twin.
//   rawWords:  words[4 i .. 4 i + 3] = Philox(counter = (i, 0, 0, 0), key)        (one thread per i)
//   baseNoise: noise[instance][bin][hidden][width], instance = (sequence, sample)  (one thread per unit)
//#include "grid.wgsl"
//#include "noise.wgsl"

struct Params {
  count: u32,
  seed: u32,
  purpose: u32,
  step: u32,
  sequences: u32,
  samples: u32,
  bins: u32,
  hidden: u32,
  width: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> words: array<u32>;
@group(0) @binding(2) var<storage, read_write> noise: array<f32>;

override workgroupSize: u32 = 64u;
override noiseKind: u32 = 0u;

@compute @workgroup_size(workgroupSize)
fn rawWords(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= params.count) {
    return;
  }
  let draw = philox4x32(vec4<u32>(index, 0u, 0u, 0u), noiseKey(params.seed, params.purpose, params.step));
  for (var k = 0u; k < 4u; k++) {
    words[4u * index + k] = draw[k];
  }
}

@compute @workgroup_size(workgroupSize)
fn baseNoise(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
             @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= params.sequences * params.samples * params.bins * params.hidden) {
    return;
  }
  let h = index % params.hidden;
  let time = (index / params.hidden) % params.bins;
  let instance = index / (params.hidden * params.bins);
  let sampleIndex = instance % params.samples;
  let sequence = instance / params.samples;
  let key = noiseKey(params.seed, params.purpose, params.step);
  var cache = freshNoiseWords();
  let values = drawUnitNoise(&cache, noiseKind, key, time, h, sampleIndex, sequence, params.width);
  for (var k = 0u; k < params.width; k++) {
    noise[index * params.width + k] = values[k];
  }
}
