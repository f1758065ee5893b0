// Reductions over bins, samples and sequences.
//   sumWeights:   w[instance] = sum_t weightTerms[instance][t] - sum_{t,v} ln x[t][v]!       (a thread per instance)
//   sumInstance:  each instance's gradient: every parameter block is a sum over bins of an outer product
//                   theta:        [dW | db]  = sum_t delta[t]  (x) [cx[t], cz[t], 1]
//                   phi forward:  [dA | dbq] = sum_t s g'[t]   (x) [cx[t], cz[t] (FS), 1]
//                   phi backward: dAb        = sum_t s g'[t]   (x) rx[t]                     (FB)
//                 with g' = dJ/dg and s = 1 (pathwise) or the sample's weight w (score function). A thread forms one
//                 TILE x TILE tile of one block in registers, reading each factor and input once per bin.
//   sumGradient:  the mean over the minibatch's (sequence, sample) instances of every parameter's gradient, and the
//                 ELBO (a row per model). A minibatch processed in chunks sums each chunk into the gradient region
//                 (the ELBO into its history slot) and divides after the last chunk, so one Adam step sees the whole
//                 minibatch. A non-finite ELBO or gradient records the step in failureStep[model], which freezes that
//                 model in the Adam stage.
//#include "stage.wgsl"

struct Params {
  paramCount: u32,
  weightOffset: u32,
  biasOffset: u32,
  forwardOffset: u32,
  forwardColumns: u32,
  backwardOffset: u32,
  variationalBiasOffset: u32,
  convOffset: u32,
  backConvOffset: u32,
  logFactorialOffset: u32,
  weightTermsOffset: u32,
  sampleWeightsOffset: u32,
  deltasOffset: u32,
  hiddenConvOffset: u32,
  variationalGradientOffset: u32,
  instanceGradientsOffset: u32,
  gradientsOffset: u32,
  elboHistoryOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> dataset: array<f32>;
@group(0) @binding(3) var<storage, read_write> workspace: array<f32>;
@group(0) @binding(4) var<storage, read_write> failureStep: array<atomic<u32>>;

override workgroupSize: u32 = 64u;
override scoreFunction: bool = false;

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

// ---- per-instance gradient blocks ----

fn tilesOf(extent: u32) -> u32 {
  return (extent + TILE - 1u) / TILE;
}

// Columns of the three blocks: theta [cx | cz | 1], phi forward [cx | cz (FS) | 1], phi backward rx (FB only).
override forwardColumnCount: u32 = 3u;
const BLOCK_THETA: u32 = 0u;
const BLOCK_FORWARD: u32 = 1u;
const BLOCK_BACKWARD: u32 = 2u;

struct Tile {
  part: u32,
  // First unit (row of the block) and first column of the tile.
  unit: u32,
  column: u32,
}

fn thetaTiles() -> u32 {
  return tilesOf(neuronCount) * tilesOf(neuronCount + 1u);
}

fn forwardTiles() -> u32 {
  return tilesOf(hiddenCount) * tilesOf(forwardColumnCount + 1u);
}

fn backwardTiles() -> u32 {
  return select(0u, tilesOf(hiddenCount) * tilesOf(visibleCount), scheme == SCHEME_FB);
}

fn tilesPerInstance() -> u32 {
  return thetaTiles() + forwardTiles() + backwardTiles();
}

// Tiles of a block are ordered unit tile major, column tile minor.
fn tileOf(index: u32) -> Tile {
  var j = index;
  if (j < thetaTiles()) {
    let columns = tilesOf(neuronCount + 1u);
    return Tile(BLOCK_THETA, j / columns * TILE, j % columns * TILE);
  }
  j -= thetaTiles();
  if (j < forwardTiles()) {
    let columns = tilesOf(forwardColumnCount + 1u);
    return Tile(BLOCK_FORWARD, j / columns * TILE, j % columns * TILE);
  }
  j -= forwardTiles();
  let columns = tilesOf(visibleCount);
  return Tile(BLOCK_BACKWARD, j / columns * TILE, j % columns * TILE);
}

fn blockUnits(part: u32) -> u32 {
  return select(hiddenCount, neuronCount, part == BLOCK_THETA);
}

fn blockColumns(part: u32) -> u32 {
  switch (part) {
    case BLOCK_THETA: { return neuronCount + 1u; }
    case BLOCK_FORWARD: { return forwardColumnCount + 1u; }
    default: { return visibleCount; }
  }
}

// Input `column` of a block at bin `time`: a visible convolution, a hidden convolution, or 1 for the bias.
fn inputAt(part: u32, column: u32, row: u32, instance: u32, time: u32) -> f32 {
  let bins = jobBins();
  if (part == BLOCK_BACKWARD) {
    return dataset[params.backConvOffset + (row * bins + time) * visibleCount + column];
  }
  if (column < visibleCount) {
    return dataset[params.convOffset + (row * bins + time) * visibleCount + column];
  }
  let last = select(forwardColumnCount, neuronCount, part == BLOCK_THETA);
  if (column < last) {
    return workspace[params.hiddenConvOffset + unitIndex(instance, time, column - visibleCount)];
  }
  return 1.0;
}

// Where the gradient of (unit, column) of a block sits in the parameter vector.
fn parameterOf(part: u32, unit: u32, column: u32) -> u32 {
  switch (part) {
    case BLOCK_THETA: {
      return select(params.biasOffset + unit, params.weightOffset + unit * neuronCount + column, column < neuronCount);
    }
    case BLOCK_FORWARD: {
      return select(params.variationalBiasOffset + unit, params.forwardOffset + unit * params.forwardColumns + column,
                    column < forwardColumnCount);
    }
    default: { return params.backwardOffset + unit * visibleCount + column; }
  }
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
  let row = slotRow(at.model, at.slot);
  if (row == NO_SEQUENCE) {
    return;
  }
  let units = blockUnits(tile.part);
  let columns = blockColumns(tile.part);
  let factorUnits = select(hiddenCount, neuronCount, tile.part == BLOCK_THETA);
  let bins = jobBins();
  let factorBase = select(params.variationalGradientOffset, params.deltasOffset, tile.part == BLOCK_THETA) + instance * bins * factorUnits;
  var sums: array<f32, 64>;
  for (var time = 0u; time < bins; time++) {
    var factors: array<f32, TILE>;
    var inputs: array<f32, TILE>;
    for (var i = 0u; i < TILE; i++) {
      if (tile.unit + i < units) {
        factors[i] = workspace[factorBase + time * factorUnits + tile.unit + i];
      }
      if (tile.column + i < columns) {
        inputs[i] = inputAt(tile.part, tile.column + i, row, instance, time);
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
  let out = params.instanceGradientsOffset + instance * params.paramCount;
  for (var i = 0u; i < TILE; i++) {
    for (var j = 0u; j < TILE; j++) {
      if (tile.unit + i < units && tile.column + j < columns) {
        workspace[out + parameterOf(tile.part, tile.unit + i, tile.column + j)] = sums[i * TILE + j] * scale;
      }
    }
  }
}

// ---- the mean over instances ----

// Inf or NaN, tested on the bits: WGSL lets compilers assume finite arithmetic, so a float comparison could be folded.
fn isNonFinite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7F800000u) == 0x7F800000u;
}

fn recordFailure(model: u32) {
  atomicMin(&failureStep[model], stepCounter());
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
  for (var slot = 0u; slot < chunkSlots(); slot++) {
    if (slotRow(model, slot) == NO_SEQUENCE) {
      continue;
    }
    for (var draw = 0u; draw < samples; draw++) {
      let instance = (model * chunkSlots() + slot) * samples + draw;
      total += select(workspace[params.instanceGradientsOffset + instance * params.paramCount + parameter],
                      workspace[params.sampleWeightsOffset + instance], elboSlot);
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
