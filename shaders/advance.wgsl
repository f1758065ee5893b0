// Ends a step: the step counter in control[0] keys the next step's noise and Adam's bias correction. The only
// kernel that writes the control buffer, so it lives in a file of its own where `control` is read_write.

@group(0) @binding(0) var<storage, read_write> control: array<u32>;

@compute @workgroup_size(1)
fn advanceStep() {
  control[0] = control[0] + 1u;
}
