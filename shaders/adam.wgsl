// Adam with PyTorch's semantics (bias-corrected; eps added to the corrected root), two parameter groups (theta
// before `generativeCount`, phi after) with their own learning rates, descending the loss -ELBO. A model whose ELBO
// or gradient went non-finite (failureStep set by the reduce stage) is frozen at its last finite parameters.
// An update can itself overflow (a huge learning rate, say), and one thread per parameter cannot see its model's other
// parameters, so the update is in two dispatches: adamStep writes each model's proposed parameters and records the
// step in failureStep if any is non-finite; commitParams then copies the proposals of the models that stayed finite.
// The saved parameters are therefore always the last finite ones, all of them from the same step.
//#include "stage.wgsl"
//#include "failure.wgsl"

struct Params {
  paramCount: u32,
  generativeCount: u32,
  learningRateGenerative: f32,
  learningRateVariational: f32,
  beta1: f32,
  beta2: f32,
  epsilon: f32,
  gradientsOffset: u32,
  firstMomentOffset: u32,
  secondMomentOffset: u32,
  proposedParamsOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> modelParams: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;

override workgroupSize: u32 = 64u;

@compute @workgroup_size(workgroupSize)
fn adamStep(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= jobModels() * params.paramCount) {
    return;
  }
  let model = index / params.paramCount;
  if (hasFailed(model)) {
    return;
  }
  let step = f32(stepCounter() + 1u);
  let learningRate = select(params.learningRateVariational, params.learningRateGenerative,
                            index % params.paramCount < params.generativeCount);
  let gradient = -workspace[params.gradientsOffset + index];
  let first = params.beta1 * workspace[params.firstMomentOffset + index] + (1.0 - params.beta1) * gradient;
  let second = params.beta2 * workspace[params.secondMomentOffset + index] + (1.0 - params.beta2) * gradient * gradient;
  workspace[params.firstMomentOffset + index] = first;
  workspace[params.secondMomentOffset + index] = second;
  let correction1 = 1.0 - pow(params.beta1, step);
  let correction2 = 1.0 - pow(params.beta2, step);
  let denominator = sqrt(second) / sqrt(correction2) + params.epsilon;
  // first / correction1 before the learning rate: lr / correction1 alone overflows f32 for lr above 3.4e37.
  let proposed = modelParams[index] - learningRate * ((first / correction1) / denominator);
  workspace[params.proposedParamsOffset + index] = proposed;
  if (isNonFinite(proposed)) {
    recordFailure(model);
  }
}

@compute @workgroup_size(workgroupSize)
fn commitParams(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= jobModels() * params.paramCount) {
    return;
  }
  if (hasFailed(index / params.paramCount)) {
    return;
  }
  modelParams[index] = workspace[params.proposedParamsOffset + index];
}
