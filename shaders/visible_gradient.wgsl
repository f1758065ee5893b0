// The visible columns of every gradient block: the N x V, H x V (and, for FB, H x V) products that dominate the
// gradient's work at real sizes. Their inputs cx[t][v] and rx[t][v] are the same for every Monte Carlo sample of a
// sequence, so the samples' row factors are summed first and each block is one matrix product per model over
// (sequence, bin), M times less work than per sample:
//   theta:        dW[n][v]  = sum_{slot,t} D[slot][t][n]     cx[t][v],   D = sum_m delta_m
//   phi forward:  dA[h][v]  = sum_{slot,t} G[slot][t][h]     cx[t][v],   G = sum_m s_m dJ/dg_m
//   phi backward: dAb[h][v] = sum_{slot,t} G[slot][t][h]     rx[t][v]    (FB)
// with s_m = 1 (pathwise) or the sample's weight w_m (score function). The reduce stage's sumSamples forms D and G
// side by side, rowFactors[pair][t][N + H] (each part padded to a multiple of 4); this stage forms the products into
// gradientSums[model][parameter], a thread per (4 visible columns, 16 factor columns) with its sums in registers.
// The stage reads the workspace as vec4s (a read-only view of the buffer), so its sums go to a buffer of their own.
// The hidden and bias columns, which do differ per sample, stay with the per-instance reduction (reduce.wgsl).
//#include "stage.wgsl"

struct Params {
  paramCount: u32,
  weightOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  backwardOffset: u32,
  convOffset: u32,
  backConvOffset: u32,
  rowFactorsOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
// Read as vec4s: the row factors are padded and aligned for it.
@group(0) @binding(3) var<storage, read> workspace: array<vec4<f32>>;
// [model][parameter]: the visible columns' sums of the current chunk.
@group(0) @binding(4) var<storage, read_write> gradientSums: array<f32>;

override workgroupSize: u32 = 64u;

// A thread's register block: 16 factor columns (four vec4 reads) x 4 visible columns, 64 sums.
const UNITS: u32 = 16u;
const COLUMNS: u32 = 4u;

// The blocks of factor columns: first over all of rowFactors (theta's N, then phi forward's H: inputs cx), then, for
// FB, over phi's H again (phi backward: inputs rx). Padding columns are zero and never written.
fn forwardBlocks() -> u32 {
  return factorColumns() / UNITS + select(0u, 1u, factorColumns() % UNITS != 0u);
}

fn unitBlocks() -> u32 {
  let backward = (factorColumns() - thetaFactorColumns() + UNITS - 1u) / UNITS;
  return forwardBlocks() + select(0u, backward, scheme == SCHEME_FB);
}

// Where the gradient of factor column `column` (of the forward or the backward pass over rowFactors) and visible
// column `visible` sits in the parameter vector, or NO_PARAMETER for padding.
const NO_PARAMETER: u32 = 0xFFFFFFFFu;
fn parameterOf(column: u32, backward: bool, visible: u32) -> u32 {
  if (column < neuronCount) {
    return select(params.weightOffset + column * neuronCount + visible, NO_PARAMETER, backward);
  }
  let hidden = column - thetaFactorColumns();
  if (column < thetaFactorColumns() || hidden >= hiddenCount) {
    return NO_PARAMETER;
  }
  return select(params.forwardOffset + hidden * params.forwardColumns + visible, params.backwardOffset + hidden * visibleCount + visible,
                backward);
}

// A row of workgroups per model; workgroup x = unit block x column group. A thread owns 4 visible columns and a
// block of 16 factor columns: per (sequence, bin) it reads 4 inputs and 4 vec4s of factors and does 64
// multiply-adds into registers, so every word it loads feeds 8 of them. No workgroup memory and no barriers.
@compute @workgroup_size(workgroupSize)
fn visibleProduct(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                  @builtin(local_invocation_index) lane: u32) {
  let model = rowOfWorkgroup(group, groups);
  let columnGroups = (visibleCount + workgroupSize * COLUMNS - 1u) / (workgroupSize * COLUMNS);
  let unitBlock = group.x / columnGroups;
  let firstVisible = (group.x % columnGroups * workgroupSize + lane) * COLUMNS;
  if (model >= jobModels() || unitBlock >= unitBlocks() || firstVisible >= visibleCount) {
    return;
  }
  let backward = unitBlock >= forwardBlocks();
  let firstColumn = select(unitBlock * UNITS, thetaFactorColumns() + (unitBlock - forwardBlocks()) * UNITS, backward);
  // The vec4s of the block that exist (the last block of a part may be short).
  let quads = min(UNITS, factorColumns() - firstColumn) / 4u;
  let inputOffset = select(params.convOffset, params.backConvOffset, backward);
  let bins = jobBins();
  let columns = factorColumns();
  var sums: array<vec4<f32>, 16>;
  for (var slot = 0u; slot < chunkSlots(); slot++) {
    let dataRow = slotRow(model, slot);
    if (dataRow == NO_SEQUENCE) {
      continue;
    }
    // In vec4s: rowFactors' offset and row length are multiples of 4 (workspace.ts aligns every region to 16 bytes).
    let factors = (params.rowFactorsOffset + (model * chunkSlots() + slot) * bins * columns + firstColumn) / 4u;
    let inputs = inputOffset + dataRow * bins * visibleCount;
    for (var time = 0u; time < bins; time++) {
      let at = inputs + time * visibleCount;
      // Columns past the last read the last one; their sums are never written.
      let input = vec4<f32>(dataset[at + min(firstVisible, visibleCount - 1u)], dataset[at + min(firstVisible + 1u, visibleCount - 1u)],
                            dataset[at + min(firstVisible + 2u, visibleCount - 1u)], dataset[at + min(firstVisible + 3u, visibleCount - 1u)]);
      let row = factors + time * columns / 4u;
      for (var q = 0u; q < UNITS / 4u; q++) {
        let factor = workspace[row + min(q, quads - 1u)];
        sums[4u * q] += factor.x * input;
        sums[4u * q + 1u] += factor.y * input;
        sums[4u * q + 2u] += factor.z * input;
        sums[4u * q + 3u] += factor.w * input;
      }
    }
  }
  for (var u = 0u; u < quads * 4u; u++) {
    for (var j = 0u; j < COLUMNS; j++) {
      let parameter = parameterOf(firstColumn + u, backward, firstVisible + j);
      if (firstVisible + j < visibleCount && parameter != NO_PARAMETER) {
        gradientSums[model * params.paramCount + parameter] = sums[u][j];
      }
    }
  }
}
