// The header of a job's control buffer (u32 words; twin: CONTROL_HEADER in src/engine/workspace.ts). The advance
// stage writes the first three; the host writes the rest once per job.
const CONTROL_STEP: u32 = 0u;          // training steps taken: keys the noise and Adam's bias correction
const CONTROL_STEP_IN_EPOCH: u32 = 1u; // the schedule's step row, kept by the advance stage so no thread divides
const CONTROL_CHUNK: u32 = 2u;         // the chunk of the minibatch being processed
const CONTROL_STEPS_PER_EPOCH: u32 = 3u;
const CONTROL_MODELS: u32 = 4u;
const CONTROL_CHUNKS: u32 = 5u;
const CONTROL_SEEDS: u32 = 6u;
const CONTROL_BASIS: u32 = 7u;
const CONTROL_SCHEDULE: u32 = 8u;
const CONTROL_HEADER_WORDS: u32 = 12u;
