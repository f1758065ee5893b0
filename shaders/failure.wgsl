// The failure record of a job's models: failureStep[model] is the first step whose ELBO, gradient or Adam update was
// non-finite (NO_FAILURE while there is none). The reduce stage records a non-finite ELBO or gradient, the Adam stage
// a non-finite update, and a recorded model is frozen at its last finite parameters.
//#include "stage.wgsl"

@group(0) @binding(4) var<storage, read_write> failureStep: array<atomic<u32>>;

// Inf or NaN, tested on the bits: WGSL lets compilers assume finite arithmetic, so a float comparison could be folded.
fn isNonFinite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7F800000u) == 0x7F800000u;
}

fn recordFailure(model: u32) {
  atomicMin(&failureStep[model], stepCounter());
}

fn hasFailed(model: u32) -> bool {
  return atomicLoad(&failureStep[model]) != NO_FAILURE;
}
