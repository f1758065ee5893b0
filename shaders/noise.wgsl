// Base noise of one hidden unit in one bin, drawn from its Philox stream: a uniform (Poisson, categorical,
// exponential, Rayleigh), a standard normal (half-normal), or K Gumbels (Gumbel-Softmax).
//#include "rng.wgsl"

const NOISE_UNIFORM: u32 = 0u;
const NOISE_NORMAL: u32 = 1u;
const NOISE_GUMBEL: u32 = 2u;

// The last Philox call of a thread's stream, so that the up to four words it makes serve consecutive units.
struct NoiseWords {
  blockIndex: u32,
  words: vec4<u32>,
}

fn freshNoiseWords() -> NoiseWords {
  return NoiseWords(0xFFFFFFFFu, vec4<u32>(0u));
}

// Word `index` of the (time, sample, sequence) stream.
fn noiseWord(cache: ptr<function, NoiseWords>, key: vec2<u32>, time: u32, index: u32, sampleIndex: u32, sequence: u32) -> u32 {
  let blockIndex = index / 4u;
  if ((*cache).blockIndex != blockIndex) {
    (*cache).blockIndex = blockIndex;
    (*cache).words = philox4x32(noiseCounter(time, blockIndex, sampleIndex, sequence), key);
  }
  return (*cache).words[index % 4u];
}

// Words one unit takes: 1 (a uniform), 2 (a normal, by Box-Muller), or `width` (Gumbels).
fn wordsPerUnit(kind: u32, width: u32) -> u32 {
  switch (kind) {
    case NOISE_UNIFORM: { return 1u; }
    case NOISE_NORMAL: { return 2u; }
    default: { return width; }
  }
}

// Base noise of hidden unit `unit`: its words are unit * wordsPerUnit .. + wordsPerUnit - 1 of the stream.
fn drawUnitNoise(cache: ptr<function, NoiseWords>, kind: u32, key: vec2<u32>, time: u32, unit: u32, sampleIndex: u32,
                 sequence: u32, width: u32) -> array<f32, 8> {
  var noise: array<f32, 8>;
  let first = unit * wordsPerUnit(kind, width);
  switch (kind) {
    case NOISE_UNIFORM: { noise[0] = uniformFromBits(noiseWord(cache, key, time, first, sampleIndex, sequence)); }
    case NOISE_NORMAL: {
      let a = noiseWord(cache, key, time, first, sampleIndex, sequence);
      let b = noiseWord(cache, key, time, first + 1u, sampleIndex, sequence);
      noise[0] = normalFromBits(a, b);
    }
    default: {
      for (var k = 0u; k < width; k++) {
        noise[k] = gumbelFromBits(noiseWord(cache, key, time, first + k, sampleIndex, sequence));
      }
    }
  }
  return noise;
}
