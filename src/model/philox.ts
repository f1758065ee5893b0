// Float64 twin of shaders/rng.wgsl: Philox-4x32-10 with the same key and counter layout, producing the same
// 32-bit words bit for bit. Uniforms are exact in f32 and f64 alike; normals and Gumbels are computed in f64.

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** Purposes: the low 4 bits of the key's second word, so that streams for different jobs never overlap. */
export const NoisePurpose = {
  simulate: 1,
  train: 2,
  evaluate: 3,
  initialize: 4,
  shuffle: 5,
  /** The true parameters of a synthetic trial. */
  truth: 6,
} as const;

/** High 32 bits of the unsigned 64-bit product. */
export function mulHigh32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const hiHi = aHi * bHi;
  const middle = (loLo >>> 16) + (hiLo & 0xffff) + (loHi & 0xffff);
  return (hiHi + (hiLo >>> 16) + (loHi >>> 16) + (middle >>> 16)) >>> 0;
}

export type Word4 = [number, number, number, number];

export function philox4x32(counter: Word4, key: [number, number]): Word4 {
  let [c0, c1, c2, c3] = counter.map((w) => w >>> 0) as Word4;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi0 = mulHigh32(PHILOX_M0, c0);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    const hi1 = mulHigh32(PHILOX_M1, c2);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

export function noiseKey(seed: number, purpose: number, step: number): [number, number] {
  if (!Number.isInteger(step) || step < 0 || step >= 2 ** 28) {
    throw new RangeError(`noise step ${step} must be an integer in [0, 2^28)`);
  }
  return [seed >>> 0, ((step << 4) | (purpose & 0xf)) >>> 0];
}

/** Counter of the Philox call for `block` (words 4 block .. 4 block + 3) of a (time, sample, sequence) stream. */
function noiseCounter(time: number, block: number, sample: number, sequence: number): Word4 {
  return [time >>> 0, block >>> 0, sample >>> 0, sequence >>> 0];
}

/** Word `index` of the (time, sample, sequence) stream: word index % 4 of the call for block index / 4. */
export function noiseWord(key: [number, number], time: number, index: number, sample: number, sequence: number): number {
  return philox4x32(noiseCounter(time, Math.floor(index / 4), sample, sequence), key)[index % 4];
}

/** (k + 0.5) / 2^23 for the top 23 bits k: strictly inside (0, 1) and exactly representable in f32. */
export function uniformFromBits(bits: number): number {
  return ((bits >>> 9) + 0.5) / 8388608;
}

export function normalFromBits(bitsA: number, bitsB: number): number {
  const radius = Math.sqrt(-2 * Math.log(uniformFromBits(bitsA)));
  return radius * Math.cos(2 * Math.PI * uniformFromBits(bitsB));
}

export function gumbelFromBits(bits: number): number {
  return -Math.log(-Math.log(uniformFromBits(bits)));
}

/**
 * A small sequential generator for host-side jobs (parameter initialisation, minibatch shuffles): draw i of a
 * stream is word (i mod 4) of Philox(counter = [i div 4, 0, 0, index], key), so it is reproducible from
 * (seed, purpose, index) alone and independent of every GPU stream.
 */
export class PhiloxStream {
  private block: Word4 = [0, 0, 0, 0];
  private drawn = 0;
  constructor(
    private readonly seed: number,
    private readonly purpose: number,
    private readonly index = 0,
  ) {}

  nextU32(): number {
    const within = this.drawn % 4;
    if (within === 0) {
      this.block = philox4x32([Math.floor(this.drawn / 4), 0, 0, this.index], noiseKey(this.seed, this.purpose, 0));
    }
    this.drawn++;
    return this.block[within];
  }

  /** Uniform in (0, 1). */
  nextUniform(): number {
    return uniformFromBits(this.nextU32());
  }

  /** Uniform integer in [0, n) by rejection, free of modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new RangeError(`nextInt bound ${n} must be in [1, 2^32]`);
    const limit = Math.floor(2 ** 32 / n) * n;
    for (;;) {
      const word = this.nextU32();
      if (word < limit) return word % n;
    }
  }
}
