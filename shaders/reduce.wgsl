// Reductions over bins, samples and sequences.
//   sumWeights:   w[instance] = sum_t weightTerms[instance][t] - sum_{t,v} ln x[t][v]!       (a thread per instance)
//   sumSamples:   the visible columns' row factors summed over a sequence's samples (below)
//   sumInstance:  each instance's gradient columns that differ per sample, sums over bins of outer products
//                   theta:        [dW_cz | db]  = sum_t delta[t]  (x) [cz[t], 1]
//                   phi forward:  [dA_cz | dbq] = sum_t s g'[t]   (x) [cz[t] (FS), 1]
//                 with g' = dJ/dg and s = 1 (pathwise) or the sample's weight w (score function). A thread forms one
//                 TILE x TILE tile of one block in registers, reading each factor and input once per bin. The visible
//                 columns (cx, rx) come from visible_gradient.wgsl, summed over samples first.
//   sumGradient:  the mean over the minibatch's (sequence, sample) instances of every parameter's gradient, and the
//                 ELBO (a row per model). A minibatch processed in chunks sums each chunk into the gradient region
//                 (the ELBO into its history slot) and divides after the last chunk, so one Adam step sees the whole
//                 minibatch. A non-finite ELBO or gradient records the step in failureStep[model], which freezes that
//                 model in the Adam stage.
//#include "stage.wgsl"
//#include "failure.wgsl"

struct Params {
  paramCount: u32,
  weightOffset: u32,
  biasOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  backwardOffset: u32,
  variationalBiasOffset: u32,
  logFactorialOffset: u32,
  weightTermsOffset: u32,
  sampleWeightsOffset: u32,
  deltasOffset: u32,
  hiddenConvOffset: u32,
  variationalGradientOffset: u32,
  instanceGradientsOffset: u32,
  rowFactorsOffset: u32,
  gradientsOffset: u32,
  elboHistoryOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;
// [model][parameter]: the visible columns' sums of the current chunk (visible_gradient.wgsl).
@group(0) @binding(5) var<storage, read> gradientSums: array<f32>;

override workgroupSize: u32 = 64u;
override scoreFunction: bool = false;
// Each instance wrote every parameter's gradient (instance_gradient.wgsl, the fused path): sumGradient then reads
// them all from instanceGradients, at [instance][parameter], and there are no visible-column sums.
override fusedInstances: bool = false;

// ---- the samples' row factors of the visible columns, summed per (pair, bin) ----
// rowFactors[pair][t] = [sum_m delta_m[t][n] for n < N | sum_m s_m dJ/dg_m[t][h] for h < H], each part padded with
// zeros to a multiple of 4 (stage.wgsl factorColumns), so visible_gradient.wgsl reads them four at a time. A row per
// pair, a thread per (bin, factor column): consecutive threads read consecutive words.

@compute @workgroup_size(workgroupSize)
fn sumSamples(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
              @builtin(global_invocation_id) thread: vec3<u32>) {
  let pair = rowOfWorkgroup(group, groups);
  let bins = jobBins();
  let columns = factorColumns();
  let item = thread.x;
  if (pair >= pairCount() || item >= bins * columns) {
    return;
  }
  let out = params.rowFactorsOffset + pair * bins * columns + item;
  let time = item / columns;
  let column = item % columns;
  let hidden = column - thetaFactorColumns();
  let padding = column >= neuronCount && (column < thetaFactorColumns() || hidden >= hiddenCount);
  if (padding || slotRow(pair / chunkSlots(), pair % chunkSlots()) == NO_SEQUENCE) {
    workspace[out] = 0.0;
    return;
  }
  let samples = jobSamples();
  var total = 0.0;
  for (var draw = 0u; draw < samples; draw++) {
    let instance = pair * samples + draw;
    if (column < neuronCount) {
      total += workspace[params.deltasOffset + (instance * bins + time) * neuronCount + column];
    } else {
      let factor = workspace[params.variationalGradientOffset + unitIndex(instance, time, hidden)];
      total += select(factor, factor * workspace[params.sampleWeightsOffset + instance], scoreFunction);
    }
  }
  workspace[out] = total;
}

const TILE: u32 = 8u;

@compute @workgroup_size(workgroupSize)
fn sumWeights(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
              @builtin(local_invocation_index) lane: u32) {
  let instance = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (instance >= instanceCount()) {
    return;
  }
  let at = decodeInstance(instance);
  let row = slotRow(at.model, at.slot);
  if (row == NO_SEQUENCE) {
    workspace[params.sampleWeightsOffset + instance] = 0.0;
    return;
  }
  let bins = jobBins();
  var total = -dataset[params.logFactorialOffset + row];
  for (var time = 0u; time < bins; time++) {
    total += workspace[params.weightTermsOffset + instance * bins + time];
  }
  workspace[params.sampleWeightsOffset + instance] = total;
}

// ---- per-instance gradient blocks: the columns that differ per sample ----
// The visible columns (cx, rx) are shared by a sequence's samples and are summed once per model by
// visible_gradient.wgsl; here each instance forms the rest: the hidden-history and bias columns of theta, and the
// bias (and, for FS, hidden-history) columns of phi forward.

fn tilesOf(extent: u32) -> u32 {
  return (extent + TILE - 1u) / TILE;
}

// Columns of the blocks: theta [cx | cz | 1], phi forward [cx | cz (FS) | 1]; this stage takes those after cx.
override forwardColumnCount: u32 = 3u;
const BLOCK_THETA: u32 = 0u;
const BLOCK_FORWARD: u32 = 1u;

struct Tile {
  part: u32,
  // First unit (row of the block) and first column (counted from the first non-visible column) of the tile.
  unit: u32,
  column: u32,
}

fn blockUnits(part: u32) -> u32 {
  return select(hiddenCount, neuronCount, part == BLOCK_THETA);
}

fn blockColumns(part: u32) -> u32 {
  return select(forwardColumnCount, neuronCount, part == BLOCK_THETA) + 1u - visibleCount;
}

fn thetaTiles() -> u32 {
  return tilesOf(neuronCount) * tilesOf(blockColumns(BLOCK_THETA));
}

fn forwardTiles() -> u32 {
  return tilesOf(hiddenCount) * tilesOf(blockColumns(BLOCK_FORWARD));
}

fn tilesPerInstance() -> u32 {
  return thetaTiles() + forwardTiles();
}

// Tiles of a block are ordered unit tile major, column tile minor.
fn tileOf(index: u32) -> Tile {
  if (index < thetaTiles()) {
    let columns = tilesOf(blockColumns(BLOCK_THETA));
    return Tile(BLOCK_THETA, index / columns * TILE, index % columns * TILE);
  }
  let j = index - thetaTiles();
  let columns = tilesOf(blockColumns(BLOCK_FORWARD));
  return Tile(BLOCK_FORWARD, j / columns * TILE, j % columns * TILE);
}

// Input `column` (counted from the first non-visible column) of a block at bin `time`: a hidden convolution, or 1
// for the bias.
fn inputAt(part: u32, column: u32, instance: u32, time: u32) -> f32 {
  let last = select(forwardColumnCount, neuronCount, part == BLOCK_THETA) - visibleCount;
  if (column < last) {
    return workspace[params.hiddenConvOffset + unitIndex(instance, time, column)];
  }
  return 1.0;
}

// Each instance keeps only these columns, compactly: theta's N x (H + 1) block, then phi forward's H rows.
fn compactIndex(part: u32, unit: u32, column: u32) -> u32 {
  if (part == BLOCK_THETA) {
    return unit * blockColumns(BLOCK_THETA) + column;
  }
  return neuronCount * blockColumns(BLOCK_THETA) + unit * blockColumns(BLOCK_FORWARD) + column;
}

fn compactCount() -> u32 {
  if (fusedInstances) {
    return params.paramCount;
  }
  return neuronCount * blockColumns(BLOCK_THETA) + hiddenCount * blockColumns(BLOCK_FORWARD);
}

// The compact index of a parameter that is not a visible column.
fn compactIndexOf(parameter: u32) -> u32 {
  if (fusedInstances) {
    return parameter;
  }
  if (parameter < params.biasOffset) {
    let unit = (parameter - params.weightOffset) / neuronCount;
    return compactIndex(BLOCK_THETA, unit, (parameter - params.weightOffset) % neuronCount - visibleCount);
  }
  if (parameter < params.forwardOffset) {
    return compactIndex(BLOCK_THETA, parameter - params.biasOffset, blockColumns(BLOCK_THETA) - 1u);
  }
  if (parameter < params.variationalBiasOffset) {
    let unit = (parameter - params.forwardOffset) / forwardColumnCount;
    return compactIndex(BLOCK_FORWARD, unit, (parameter - params.forwardOffset) % forwardColumnCount - visibleCount);
  }
  return compactIndex(BLOCK_FORWARD, parameter - params.variationalBiasOffset, blockColumns(BLOCK_FORWARD) - 1u);
}

@compute @workgroup_size(workgroupSize)
fn sumInstance(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  let instance = index / tilesPerInstance();
  if (instance >= instanceCount()) {
    return;
  }
  let tile = tileOf(index % tilesPerInstance());
  let at = decodeInstance(instance);
  if (slotRow(at.model, at.slot) == NO_SEQUENCE) {
    return;
  }
  let units = blockUnits(tile.part);
  let columns = blockColumns(tile.part);
  let bins = jobBins();
  let factorBase = select(params.variationalGradientOffset, params.deltasOffset, tile.part == BLOCK_THETA) + instance * bins * units;
  var sums: array<f32, 64>;
  for (var time = 0u; time < bins; time++) {
    var factors: array<f32, TILE>;
    var inputs: array<f32, TILE>;
    for (var i = 0u; i < TILE; i++) {
      if (tile.unit + i < units) {
        factors[i] = workspace[factorBase + time * units + tile.unit + i];
      }
      if (tile.column + i < columns) {
        inputs[i] = inputAt(tile.part, tile.column + i, instance, time);
      }
    }
    for (var i = 0u; i < TILE; i++) {
      for (var j = 0u; j < TILE; j++) {
        sums[i * TILE + j] += factors[i] * inputs[j];
      }
    }
  }
  let weighted = scoreFunction && tile.part != BLOCK_THETA;
  let scale = select(1.0, workspace[params.sampleWeightsOffset + instance], weighted);
  let out = params.instanceGradientsOffset + instance * compactCount();
  for (var i = 0u; i < TILE; i++) {
    for (var j = 0u; j < TILE; j++) {
      if (tile.unit + i < units && tile.column + j < columns) {
        workspace[out + compactIndex(tile.part, tile.unit + i, tile.column + j)] = sums[i * TILE + j] * scale;
      }
    }
  }
}

// ---- the mean over instances ----

// Whether a parameter multiplies a visible convolution (its gradient comes from visible_gradient.wgsl).
fn isVisibleColumn(parameter: u32) -> bool {
  if (fusedInstances) {
    return false;
  }
  if (parameter < params.biasOffset) {
    return (parameter - params.weightOffset) % neuronCount < visibleCount;
  }
  if (parameter >= params.forwardOffset && parameter < params.backwardOffset) {
    return (parameter - params.forwardOffset) % params.forwardColumns < visibleCount;
  }
  return parameter >= params.backwardOffset && parameter < params.variationalBiasOffset;
}

// A row per model, a thread per parameter (plus one for the ELBO). Partial sums of a chunked minibatch wait in the
// output slots themselves; the mean is taken over every non-empty slot of every chunk.
@compute @workgroup_size(workgroupSize)
fn sumGradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(global_invocation_id) thread: vec3<u32>) {
  let model = rowOfWorkgroup(group, groups);
  let parameter = thread.x;
  let models = jobModels();
  if (model >= models || parameter > params.paramCount) {
    return;
  }
  let elboSlot = parameter == params.paramCount;
  let samples = jobSamples();
  var total = 0.0;
  if (!elboSlot && isVisibleColumn(parameter)) {
    total = gradientSums[model * params.paramCount + parameter];
  } else {
    let compact = select(compactIndexOf(parameter), 0u, elboSlot);
    for (var slot = 0u; slot < chunkSlots(); slot++) {
      if (slotRow(model, slot) == NO_SEQUENCE) {
        continue;
      }
      for (var draw = 0u; draw < samples; draw++) {
        let instance = (model * chunkSlots() + slot) * samples + draw;
        total += select(workspace[params.instanceGradientsOffset + instance * compactCount() + compact],
                        workspace[params.sampleWeightsOffset + instance], elboSlot);
      }
    }
  }
  let out = select(params.gradientsOffset + model * params.paramCount + parameter,
                   params.elboHistoryOffset + control[CONTROL_STEP_IN_EPOCH] * models + model, elboSlot);
  if (!isFirstChunk()) {
    total += workspace[out];
  }
  if (!isLastChunk()) {
    workspace[out] = total;
    return;
  }
  var used = 0u;
  for (var chunk = 0u; chunk < control[CONTROL_CHUNKS]; chunk++) {
    for (var slot = 0u; slot < chunkSlots(); slot++) {
      used += select(1u, 0u, scheduleEntry(chunk, model, slot) == NO_SEQUENCE);
    }
  }
  let mean = total / f32(max(used, 1u) * samples);
  workspace[out] = mean;
  if (isNonFinite(mean)) {
    recordFailure(model);
  }
}
