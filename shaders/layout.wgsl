// Index arithmetic shared by the pipeline stages. A job holds B models; at each step model b reads `slots`
// sequences (its minibatch) and draws `samples` Monte Carlo samples of each; an instance is one (model, slot, sample).
//
// Every stage binds at most five storage buffers (WebGPU guarantees eight per stage; browsers offer ten):
//   control    u32  [step, step in epoch, -, -] [seeds: B] [basis: L, f32 bits] [schedule: stepsPerEpoch x B x slots]
//   dataset    f32  [counts] [causal conv] [anti-causal conv] [sum ln x! per row]        (rows x bins x visible)
//   modelParams f32 [model][parameter]
//   workspace  f32  the job's named regions (drives, samples, deltas, gradients, ...), each at `<region>Offset`
// The host computes every offset in one place (src/engine/workspace.ts) and passes it as a uniform.
//   schedule      [stepInEpoch][model][slot] -> dataset row of the slot, or NO_SEQUENCE for an empty slot
//   per (model, slot):   [model][slot][bin][...]            ("pair" = model * slots + slot)
//   per instance:        [instance][bin][...],  instance = (model * slots + slot) * samples + sample

const NO_SEQUENCE: u32 = 0xFFFFFFFFu;
const NO_FAILURE: u32 = 0xFFFFFFFFu;

// `stepInEpoch` is control[1], kept by the advance stage, so no thread divides the step counter.
fn scheduleIndex(stepInEpoch: u32, models: u32, slots: u32, model: u32, slot: u32) -> u32 {
  return (stepInEpoch * models + model) * slots + slot;
}

struct Instance {
  model: u32,
  slot: u32,
  sampleIndex: u32,
  // model * slots + slot: the index of the (model, sequence) pair that the drives are stored by.
  pair: u32,
}

fn decodeInstance(instance: u32, slots: u32, samples: u32) -> Instance {
  let pair = instance / samples;
  return Instance(pair / slots, pair % slots, instance % samples, pair);
}
