// Base noise of one hidden unit in one bin, drawn from its Philox stream: a uniform (Poisson, categorical,
// exponential, Rayleigh), a standard normal (half-normal), or K Gumbels (Gumbel-Softmax). The same function serves
// sampling and the backward pass, which redraws rather than stores the noise.
//#include "rng.wgsl"

const NOISE_UNIFORM: u32 = 0u;
const NOISE_NORMAL: u32 = 1u;
const NOISE_GUMBEL: u32 = 2u;

fn drawBaseNoise(kind: u32, key: vec2<u32>, time: u32, neuron: u32, sampleIndex: u32, sequence: u32, width: u32) -> array<f32, 8> {
  var noise: array<f32, 8>;
  let first = philox4x32(noiseCounter(time, neuron, 0u, sampleIndex, sequence), key);
  switch (kind) {
    case NOISE_UNIFORM: { noise[0] = uniformFromBits(first.x); }
    case NOISE_NORMAL: { noise[0] = normalFromBits(first.x, first.y); }
    default: {
      for (var k = 0u; k < min(width, 4u); k++) {
        noise[k] = gumbelFromBits(first[k]);
      }
      if (width > 4u) {
        let second = philox4x32(noiseCounter(time, neuron, 1u, sampleIndex, sequence), key);
        for (var k = 4u; k < width; k++) {
          noise[k] = gumbelFromBits(second[k - 4u]);
        }
      }
    }
  }
  return noise;
}
