// Ends a step: the step counter in control[0] keys the next step's noise and Adam's bias correction, and control[1]
// is the step within the epoch (the row of the minibatch schedule). The only kernel that writes the control buffer,
// so it lives in a file of its own where `control` is read_write.

struct Params {
  stepsPerEpoch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> control: array<u32>;

@compute @workgroup_size(1)
fn advanceStep() {
  let step = control[0] + 1u;
  control[0] = step;
  control[1] = step % params.stepsPerEpoch;
}
