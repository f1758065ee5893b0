// Evaluation accumulates, chunk by chunk of Monte Carlo samples, the per-sequence statistics of the weights w:
// a running log-sum-exp (max and scaled sum) for the marginal likelihood and a running sum for the ELBO.
// evidence[pair] = (max w, sum exp(w - max), sum w, count), pair = model * slots + slot.
//#include "grid.wgsl"

struct Params {
  pairs: u32,
  // Samples stored per pair (the stride), and how many of them this chunk counts (the last chunk may be partial).
  samples: u32,
  validSamples: u32,
  sampleWeightsOffset: u32,
  evidenceOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;

@compute @workgroup_size(workgroupSize)
fn accumulateEvidence(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                      @builtin(local_invocation_index) lane: u32) {
  let pair = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (pair >= params.pairs) {
    return;
  }
  let at = params.evidenceOffset + 4u * pair;
  var state = vec4<f32>(workspace[at], workspace[at + 1u], workspace[at + 2u], workspace[at + 3u]);
  for (var draw = 0u; draw < params.validSamples; draw++) {
    let weight = workspace[params.sampleWeightsOffset + pair * params.samples + draw];
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
