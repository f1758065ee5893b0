// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11).
//
// Every draw is a pure function of (key, counter), so each (fit, purpose, step, sequence, sample, time, neuron)
// owns an independent stream with no state to carry between dispatches, and the TypeScript twin in
// src/model/philox.ts reproduces the same 32-bit words exactly. The stream layout (which coordinate goes
// into which word) is documented in docs/architecture.md and fixed by `noiseCounter` below.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High 32 bits of the 64-bit product a * b (WGSL has no 64-bit integers), from 16-bit halves.
fn mulHigh32(a: u32, b: u32) -> u32 {
  let aLo = a & 0xFFFFu;
  let aHi = a >> 16u;
  let bLo = b & 0xFFFFu;
  let bHi = b >> 16u;
  let loLo = aLo * bLo;
  let hiLo = aHi * bLo;
  let loHi = aLo * bHi;
  let hiHi = aHi * bHi;
  let middle = (loLo >> 16u) + (hiLo & 0xFFFFu) + (loHi & 0xFFFFu);
  return hiHi + (hiLo >> 16u) + (loHi >> 16u) + (middle >> 16u);
}

fn philoxRound(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  let lo0 = PHILOX_M0 * counter.x;
  let hi0 = mulHigh32(PHILOX_M0, counter.x);
  let lo1 = PHILOX_M1 * counter.z;
  let hi1 = mulHigh32(PHILOX_M1, counter.z);
  return vec4<u32>(hi1 ^ counter.y ^ key.x, lo1, hi0 ^ counter.w ^ key.y, lo0);
}

// Ten rounds, the key bumped by the Weyl constants between rounds.
fn philox4x32(counterIn: vec4<u32>, keyIn: vec2<u32>) -> vec4<u32> {
  var counter = counterIn;
  var key = keyIn;
  for (var round = 0u; round < 10u; round++) {
    counter = philoxRound(counter, key);
    key = key + vec2<u32>(PHILOX_W0, PHILOX_W1);
  }
  return counter;
}

// Key of a stream: the fit's seed, and the purpose (simulate, train, evaluate, ...) with the step in the high bits,
// so that every training step draws fresh noise without any state.
fn noiseKey(seed: u32, purpose: u32, step: u32) -> vec2<u32> {
  return vec2<u32>(seed, (step << 4u) | (purpose & 0xFu));
}

// Counter of one Philox call: time bin, block of four words within the bin's stream, Monte Carlo sample, and
// sequence slot. The words of a (bin, sample, slot) stream are numbered 0, 1, 2, ... and word i is word i % 4 of the
// call for block i / 4, so every word a call makes is used.
fn noiseCounter(time: u32, blockIndex: u32, sampleIndex: u32, sequence: u32) -> vec4<u32> {
  return vec4<u32>(time, blockIndex, sampleIndex, sequence);
}

// A uniform in the open interval (0, 1): 23 random bits centred in their cell, (k + 0.5) / 2^23, which f32 and
// f64 both represent exactly, so the float64 twin sees the very same number.
fn uniformFromBits(bits: u32) -> f32 {
  return (f32(bits >> 9u) + 0.5) * (1.0 / 8388608.0);
}

// Standard normal by Box-Muller from two words.
fn normalFromBits(bitsA: u32, bitsB: u32) -> f32 {
  let radius = sqrt(-2.0 * log(uniformFromBits(bitsA)));
  return radius * cos(6.283185307179586 * uniformFromBits(bitsB));
}

// Standard Gumbel by inversion.
fn gumbelFromBits(bits: u32) -> f32 {
  return -log(-log(uniformFromBits(bits)));
}
