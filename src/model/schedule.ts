// Minibatches and initial parameters, drawn on the host from each fit's own Philox streams, so that a fit gives the
// same result alone or inside a batch of thousands.
import type { ParamLayout } from './params.js';
import { NoisePurpose, PhiloxStream } from './philox.js';

/** A schedule entry for an empty minibatch slot (the last minibatch of an epoch may be short). */
export const NO_SEQUENCE = 0xffffffff;

/** Steps per epoch with minibatches of `batchSize` over `sequences` sequences (the last one may be short). */
export function stepsPerEpoch(sequences: number, batchSize: number): number {
  return Math.ceil(sequences / batchSize);
}

/** A uniformly random permutation of 0..n-1 for (seed, epoch): Fisher-Yates on the fit's shuffle stream. */
function epochPermutation(seed: number, epoch: number, n: number): number[] {
  const stream = new PhiloxStream(seed, NoisePurpose.shuffle, epoch);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = stream.nextInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export interface ScheduledFit {
  seed: number;
  /** First dataset row of this fit's training sequences. */
  firstRow: number;
  sequences: number;
}

/**
 * rows[step][model][slot] for one epoch: each model shuffles its own sequences (like a shuffling DataLoader that
 * keeps the short last batch) and reads `batchSize` per step; empty slots hold NO_SEQUENCE.
 */
export function epochSchedule(fits: ScheduledFit[], epoch: number, batchSize: number): Uint32Array {
  const steps = Math.max(...fits.map((fit) => stepsPerEpoch(fit.sequences, batchSize)));
  const rows = new Uint32Array(steps * fits.length * batchSize).fill(NO_SEQUENCE);
  fits.forEach((fit, model) => {
    const order = epochPermutation(fit.seed, epoch, fit.sequences);
    order.forEach((sequence, position) => {
      const step = Math.floor(position / batchSize);
      const slot = position % batchSize;
      rows[(step * fits.length + model) * batchSize + slot] = fit.firstRow + sequence;
    });
  });
  return rows;
}

/**
 * Initial parameters as in the paper's PyTorch code: W and b zero; each variational linear layer uniform in
 * [-1/sqrt(fan_in), 1/sqrt(fan_in)] (weights and the forward layer's bias), fan_in = its input width.
 */
export function initialParams(layout: ParamLayout, seed: number): Float64Array {
  const params = new Float64Array(layout.total);
  const stream = new PhiloxStream(seed, NoisePurpose.initialize);
  const uniform = (bound: number): number => (2 * stream.nextUniform() - 1) * bound;
  const forwardBound = 1 / Math.sqrt(layout.forwardColumns);
  for (let i = layout.forwardOffset; i < layout.backwardOffset; i++) params[i] = uniform(forwardBound);
  const backwardBound = 1 / Math.sqrt(layout.visible);
  for (let i = layout.backwardOffset; i < layout.variationalBiasOffset; i++) params[i] = uniform(backwardBound);
  for (let i = layout.variationalBiasOffset; i < layout.total; i++) params[i] = uniform(forwardBound);
  return params;
}
