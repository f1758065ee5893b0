// Undoes the folding of a 1-D job into a 3-D dispatch (src/gpu/grid.ts): the linear index of a workgroup.
fn linearWorkgroup(workgroupId: vec3<u32>, workgroupCount: vec3<u32>) -> u32 {
  return workgroupId.x + workgroupCount.x * (workgroupId.y + workgroupCount.y * workgroupId.z);
}

// The row of a "rows" dispatch (src/gpu/grid.ts dispatchRows): workgroups y and z count rows, x covers the row.
fn rowOfWorkgroup(workgroupId: vec3<u32>, workgroupCount: vec3<u32>) -> u32 {
  return workgroupId.y + workgroupCount.y * workgroupId.z;
}
