// Adam with PyTorch's semantics (bias-corrected; eps added to the corrected root), two parameter groups (theta
// before `generativeCount`, phi after) with their own learning rates, descending the loss -ELBO. A model whose ELBO
// or gradient went non-finite (failureStep set by the reduce stage) is frozen at its last finite parameters.
//#include "stage.wgsl"

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
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> modelParams: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;
@group(0) @binding(4) var<storage, read> failureStep: array<u32>;

override workgroupSize: u32 = 64u;

@compute @workgroup_size(workgroupSize)
fn adamStep(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index >= jobModels() * params.paramCount) {
    return;
  }
  if (failureStep[index / params.paramCount] != NO_FAILURE) {
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
  modelParams[index] -= learningRate / correction1 * first / denominator;
}
