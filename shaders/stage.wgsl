// The prelude of every stage of a training, gradient or scoring job: the job's control words, its shape, and the
// index arithmetic all stages share. A job holds B models; at each step model b reads `slots` sequences (its
// minibatch), processed `chunkSlots` at a time in `chunks` chunks when the whole minibatch's workspace would not fit
// one binding, and draws `samples` Monte Carlo samples of each. An instance is one (model, chunk slot, sample).
//
// Every stage binds at most six storage buffers (WebGPU guarantees eight per stage; browsers offer ten):
//   control    u32  the header (control.wgsl), then [seeds: B] [basis: L, f32 bits] [schedule]
//   dataset    f32  [counts] [causal conv] [anti-causal conv] [sum ln x! per row]        (rows x bins x visible)
//                   (the whole dataset, or a staging buffer that holds the rows of the current chunk)
//   modelParams f32 [model][parameter]
//   workspace  f32  the job's named regions (drives, samples, deltas, gradients, ...), each at `<region>Offset`
//   gradientSums f32 [model][parameter]: the visible columns' gradient of the current chunk (visible_gradient.wgsl)
//   failureStep u32 [model]: the first non-finite step (failure.wgsl; recorded by reduce.wgsl and adam.wgsl)
// The host lays control and workspace out in one place (src/engine/workspace.ts).
//   schedule      [stepInEpoch][chunk][model][chunk slot] -> dataset row of the slot, or NO_SEQUENCE when empty
//   per (model, chunk slot):  [pair][bin][...]        pair = model * chunkSlots + chunk slot
//   per instance:             [instance][bin][...]    instance = pair * samples + sample
// The control words are the same for every thread of a dispatch: the step, the chunk, the models and where the
// control regions start. The job's other dimensions are pipeline constants (below).
//#include "grid.wgsl"
//#include "control.wgsl"

@group(0) @binding(1) var<storage, read> control: array<u32>;

const NO_SEQUENCE: u32 = 0xFFFFFFFFu;
const NO_FAILURE: u32 = 0xFFFFFFFFu;
// Per-thread arrays hold at most this many hidden units (src/engine/sizing.ts refuses larger models).
const MAX_HIDDEN: u32 = 64u;

// The model's shape, fixed per pipeline so that loops over it unroll into registers.
override visibleCount: u32 = 3u;
override hiddenCount: u32 = 2u;
override neuronCount: u32 = 5u;
override basisCount: u32 = 5u;
override categoryCount: u32 = 5u;
// 0 = F, 1 = FS, 2 = FB.
override scheme: u32 = 0u;
// The job's dimensions: Monte Carlo samples, sequences per chunk of a minibatch, bins. Pipeline constants, because
// the index arithmetic divides by them: a division by a constant compiles to a multiply, one by a value read at run
// time does not.
override samplesPerSlot: u32 = 1u;
override chunkSlotCount: u32 = 1u;
override binCount: u32 = 1u;
const SCHEME_F: u32 = 0u;
const SCHEME_FS: u32 = 1u;
const SCHEME_FB: u32 = 2u;

fn jobModels() -> u32 {
  return control[CONTROL_MODELS];
}

fn chunkSlots() -> u32 {
  return chunkSlotCount;
}

fn jobSamples() -> u32 {
  return samplesPerSlot;
}

fn jobBins() -> u32 {
  return binCount;
}

fn stepCounter() -> u32 {
  return control[CONTROL_STEP];
}

fn isLastChunk() -> bool {
  return control[CONTROL_CHUNK] + 1u == control[CONTROL_CHUNKS];
}

fn isFirstChunk() -> bool {
  return control[CONTROL_CHUNK] == 0u;
}

fn pairCount() -> u32 {
  return jobModels() * chunkSlots();
}

fn instanceCount() -> u32 {
  return pairCount() * jobSamples();
}

fn seedOf(model: u32) -> u32 {
  return control[control[CONTROL_SEEDS] + model];
}

fn basisWeight(lag: u32) -> f32 {
  return bitcast<f32>(control[control[CONTROL_BASIS] + lag - 1u]);
}

// The schedule entry of (model, chunk slot) in the current step and chunk.
fn scheduleEntry(chunk: u32, model: u32, slot: u32) -> u32 {
  let row = control[CONTROL_STEP_IN_EPOCH] * control[CONTROL_CHUNKS] + chunk;
  return control[control[CONTROL_SCHEDULE] + (row * jobModels() + model) * chunkSlots() + slot];
}

fn slotRow(model: u32, slot: u32) -> u32 {
  return scheduleEntry(control[CONTROL_CHUNK], model, slot);
}

// The slot's place in the whole minibatch: the noise counter uses it, so chunking never changes the noise.
fn minibatchSlot(slot: u32) -> u32 {
  return control[CONTROL_CHUNK] * chunkSlots() + slot;
}

struct Instance {
  model: u32,
  slot: u32,
  sampleIndex: u32,
  // model * chunkSlots + slot: the index of the (model, sequence) pair that the drives are stored by.
  pair: u32,
}

fn decodeInstance(instance: u32) -> Instance {
  let samples = jobSamples();
  let pair = instance / samples;
  return Instance(pair / chunkSlots(), pair % chunkSlots(), instance % samples, pair);
}

// [instance][bin][hidden] arrays.
fn unitIndex(instance: u32, time: u32, h: u32) -> u32 {
  return (instance * jobBins() + time) * hiddenCount + h;
}

// Columns of rowFactors[pair][bin] (reduce.wgsl sumSamples, visible_gradient.wgsl): theta's N factors, then phi's H,
// each part padded to a multiple of 4 so that it is read as whole vec4s.
fn thetaFactorColumns() -> u32 {
  return (neuronCount + 3u) / 4u * 4u;
}

fn factorColumns() -> u32 {
  return thetaFactorColumns() + (hiddenCount + 3u) / 4u * 4u;
}
