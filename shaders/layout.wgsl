// Index arithmetic shared by the pipeline stages. A job holds B models; at each step model b reads `slots`
// sequences (its minibatch) and draws `samples` Monte Carlo samples of each; an instance is one (model, slot, sample).
//   schedule      [stepInEpoch][model][slot]  -> row of the dataset arrays, or NO_SEQUENCE for an empty slot
//   per (model, slot):      drives        [model][slot][bin][...]
//   per instance:           samples, ...  [instance][bin][...],  instance = (model * slots + slot) * samples + sample

const NO_SEQUENCE: u32 = 0xFFFFFFFFu;
const NO_FAILURE: u32 = 0xFFFFFFFFu;

fn scheduleIndex(step: u32, stepsPerEpoch: u32, models: u32, slots: u32, model: u32, slot: u32) -> u32 {
  return ((step % stepsPerEpoch) * models + model) * slots + slot;
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
