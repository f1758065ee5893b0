// Ends a chunk of a step, and after the last chunk the step: control[CONTROL_CHUNK] moves to the next chunk of the
// minibatch; then the step counter (which keys the next step's noise and Adam's bias correction) and the step within
// the epoch (the row of the minibatch schedule) advance. The only kernel that writes the control buffer, so it lives
// in a file of its own where `control` is read_write.
//#include "control.wgsl"

@group(0) @binding(1) var<storage, read_write> control: array<u32>;

@compute @workgroup_size(1)
fn advanceStep() {
  let chunk = control[CONTROL_CHUNK] + 1u;
  if (chunk < control[CONTROL_CHUNKS]) {
    control[CONTROL_CHUNK] = chunk;
    return;
  }
  control[CONTROL_CHUNK] = 0u;
  let step = control[CONTROL_STEP] + 1u;
  control[CONTROL_STEP] = step;
  let next = control[CONTROL_STEP_IN_EPOCH] + 1u;
  control[CONTROL_STEP_IN_EPOCH] = select(next, 0u, next == control[CONTROL_STEPS_PER_EPOCH]);
}
