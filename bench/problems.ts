// The benchmark's problem sizes and their data. The synthetic size uses the paper's synthetic dataset
// (src/api/synthetic.ts: simulated from a random ground-truth POGLM); the RGC-like and large sizes use independent
// Poisson counts of a fixed rate from a seeded generator (a step's cost does not depend on the count values).
import { syntheticDataset } from '../src/api/synthetic.js';
import type { GpuSession } from '../src/engine/session.js';
import type { Scheme } from '../src/model/types.js';

export interface ProblemSize {
  /** Case name in the results ("synthetic", "rgc", "large"). */
  name: string;
  visible: number;
  hidden: number;
  bins: number;
  /** Sequences per training step (minibatch). */
  slots: number;
  samples: number;
  /** Sequences in the data set the minibatch is taken from. */
  sequences: number;
  data: 'synthetic' | 'poisson';
}

export type SizeName = 'synthetic' | 'rgc' | 'large' | 'large-b32' | 'neurons-1024';

export const SIZES: Record<SizeName, ProblemSize> = {
  synthetic: { name: 'synthetic', visible: 3, hidden: 2, bins: 100, slots: 10, samples: 5, sequences: 40, data: 'synthetic' },
  rgc: { name: 'rgc', visible: 27, hidden: 3, bins: 100, slots: 32, samples: 5, sequences: 32, data: 'poisson' },
  large: { name: 'large', visible: 256, hidden: 16, bins: 1000, slots: 8, samples: 5, sequences: 8, data: 'poisson' },
  // The large size at the reference's minibatch of 32 sequences, and a 1,024-visible-neuron recording.
  'large-b32': { name: 'large-b32', visible: 256, hidden: 16, bins: 1000, slots: 32, samples: 5, sequences: 32, data: 'poisson' },
  'neurons-1024': { name: 'neurons-1024', visible: 1024, hidden: 8, bins: 500, slots: 8, samples: 5, sequences: 8, data: 'poisson' },
};

/** The sizes whose steps take seconds on a CPU: longer budgets, fewer repeats, and left out of --quick runs. */
export const LARGE_SIZES: readonly SizeName[] = ['large', 'large-b32', 'neurons-1024'];

/** Mean count per bin of the random Poisson data (about 24 Hz in 120 Hz bins, RGC-like). */
export const POISSON_RATE = 0.2;

/** A small seeded generator (mulberry32): the same data on every run. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** x[s][t][v] ~ Poisson(rate), independent, from a seeded generator. */
export function poissonCounts(sequences: number, bins: number, visible: number, rate = POISSON_RATE, seed = 1): number[][][] {
  const uniform = seededUniform(seed);
  const floor = Math.exp(-rate);
  const draw = (): number => {
    // Knuth's multiplication method: fine for small rates.
    let k = 0;
    let product = uniform();
    while (product > floor) {
      k++;
      product *= uniform();
    }
    return k;
  };
  return Array.from({ length: sequences }, () => Array.from({ length: bins }, () => Array.from({ length: visible }, draw)));
}

/** The training sequences of a size: the synthetic dataset's training split, or random Poisson counts. */
export async function problemData(session: GpuSession, size: ProblemSize): Promise<number[][][]> {
  if (size.data === 'poisson') return poissonCounts(size.sequences, size.bins, size.visible);
  const dataset = await syntheticDataset(
    0,
    { visible: size.visible, hidden: size.hidden, bins: size.bins, sequences: size.sequences + 20, trainSequences: size.sequences },
    session,
  );
  return dataset.train.visible;
}

export interface StepCase {
  size: ProblemSize;
  scheme: Scheme;
  method: 'exponential';
  /** Models in the job (WGSL engine only; tfjs runs one model). */
  models: number;
}

export function describeSize(size: ProblemSize): string {
  return `V=${size.visible} H=${size.hidden} T=${size.bins} S=${size.slots} M=${size.samples}`;
}
