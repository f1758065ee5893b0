// What a job of the variational engine is: B models of one shape, scheme and method, each reading `slots` sequences
// per step (processed `chunkSlots` at a time) and drawing `samples` Monte Carlo samples. Types and chunk arithmetic
// only, so that the job, its workspace layout and its sizing can all speak of a spec without importing one another.
import type { AdamSettings } from '../model/adam.js';
import type { ParamLayout } from '../model/params.js';
import type { ResolvedMethod } from '../model/types.js';

/**
 * What a job computes, and so which stages it dispatches (the table in src/engine/stages.ts):
 *   train:    drive, sample q, ln p (+delta), backward, sum weights, sum instance, sum gradient, [Adam], advance
 *   gradient: drive, sample q, ln p (+delta), backward, sum weights, sum instance, sum gradient, advance
 *   evaluate: drive, evaluate samples (Poisson; q and p in one kernel), accumulate evidence
 *   logJoint: drive, given samples (ln q), ln p alone, sum weights        -> sampleWeights = ln p(X, Z)
 *   logQ:     drive, given samples (ln q)                                 -> weightTerms = -ln q per bin
 */
export type JobMode = 'train' | 'gradient' | 'evaluate' | 'logJoint' | 'logQ';

/** Where the base noise of a sampling stage comes from. */
export type NoiseSource = 'philox' | 'buffer' | 'given';

export interface JobSpec {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
  models: number;
  /** Sequences each model reads per step. */
  slots: number;
  /** Sequences per chunk of a step (default: all `slots`): the workspace holds one chunk. */
  chunkSlots?: number;
  samples: number;
  /** Rows of the schedule: one per step of an epoch (1 outside training). */
  stepsPerEpoch: number;
  noise: NoiseSource;
  mode: JobMode;
  /** Noise purpose (src/model/philox.ts NoisePurpose). */
  purpose: number;
  adam?: AdamSettings;
  /** Keep every rate lambda[t][n] (firing-rate output). */
  storeRates?: boolean;
}

/** Whether a mode computes gradients (train and gradient jobs): it then keeps deltas, dJ/dg and the gradient sums. */
export function computesGradient(mode: JobMode): boolean {
  return mode === 'train' || mode === 'gradient';
}

/** Sequences per chunk and chunks per step of a spec. */
export function chunking(spec: Pick<JobSpec, 'slots' | 'chunkSlots'>): { chunkSlots: number; chunks: number } {
  const chunkSlots = Math.min(spec.chunkSlots ?? spec.slots, spec.slots);
  if (!Number.isInteger(chunkSlots) || chunkSlots < 1) throw new Error(`chunkSlots must be a positive integer, got ${spec.chunkSlots}`);
  return { chunkSlots, chunks: Math.ceil(spec.slots / chunkSlots) };
}
