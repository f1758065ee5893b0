// The paper's synthetic dataset: per trial, N = 5 (V = 3 visible, H = 2 hidden), L = 5 exponential basis,
// W ~ U(-2, 2), b ~ U(-0.5, 0.5), 60 sequences of 100 bins simulated from the full model; the first 40 train and the
// last 20 test. The trial index seeds both the parameters and the simulation (Philox streams of this library, so the
// numbers differ from the paper's PyTorch draws while the distribution is the same).
import { simulateOnDevice } from '../engine/simulate.js';
import { withSession, type GpuSession } from '../engine/session.js';
import type { GenerativeParams } from '../model/types.js';
import { exponentialBasis } from '../model/basis.js';
import { NoisePurpose, PhiloxStream } from '../model/philox.js';

export interface SyntheticOptions {
  visible?: number;
  hidden?: number;
  sequences?: number;
  trainSequences?: number;
  bins?: number;
  basisLength?: number;
  weightRange?: number;
  biasRange?: number;
  /** Stops the simulation: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface SyntheticDataset {
  format: 'poglm-gpu.synthetic';
  trial: number;
  visible: number;
  hidden: number;
  basis: number[];
  truth: { generative: GenerativeParams };
  train: { visible: number[][][]; hidden: number[][][] };
  test: { visible: number[][][]; hidden: number[][][] };
}

export function syntheticTruth(trial: number, neurons = 5, weightRange = 2, biasRange = 0.5): GenerativeParams {
  if (!Number.isInteger(trial) || trial < 0 || trial >= 2 ** 32) throw new Error(`trial must be an integer in [0, 2^32), got ${trial}`);
  const stream = new PhiloxStream(trial, NoisePurpose.truth);
  return {
    weight: Array.from({ length: neurons }, () => Array.from({ length: neurons }, () => (2 * stream.nextUniform() - 1) * weightRange)),
    bias: Array.from({ length: neurons }, () => (2 * stream.nextUniform() - 1) * biasRange),
  };
}

export async function syntheticDataset(trial: number, options: SyntheticOptions = {}, session?: GpuSession): Promise<SyntheticDataset> {
  const visible = options.visible ?? 3;
  const hidden = options.hidden ?? 2;
  const sequences = options.sequences ?? 60;
  const trainSequences = options.trainSequences ?? 40;
  const bins = options.bins ?? 100;
  if (trainSequences < 1 || trainSequences >= sequences) throw new Error('trainSequences must leave at least one sequence for the test set');
  if (!Number.isInteger(visible) || visible < 1) throw new Error(`visible must be a positive integer, got ${visible}`);
  if (!Number.isInteger(hidden) || hidden < 0) throw new Error(`hidden must be a non-negative integer, got ${hidden}`);
  const basis = exponentialBasis(options.basisLength ?? 5);
  const truth = syntheticTruth(trial, visible + hidden, options.weightRange ?? 2, options.biasRange ?? 0.5);
  const result = await withSession(session, (gpu) => simulateOnDevice(gpu, { models: [truth], basis, sequences, bins, seeds: trial, signal: options.signal }));
  const N = visible + hidden;
  const split = (first: number, count: number, from: number, to: number): number[][][] =>
    Array.from({ length: count }, (_, s) =>
      Array.from({ length: bins }, (_, t) => Array.from(result.spikes.subarray(((first + s) * bins + t) * N + from, ((first + s) * bins + t) * N + to))),
    );
  return {
    format: 'poglm-gpu.synthetic',
    trial,
    visible,
    hidden,
    basis,
    truth: { generative: truth },
    train: { visible: split(0, trainSequences, 0, visible), hidden: split(0, trainSequences, visible, N) },
    test: { visible: split(trainSequences, sequences - trainSequences, 0, visible), hidden: split(trainSequences, sequences - trainSequences, visible, N) },
  };
}
