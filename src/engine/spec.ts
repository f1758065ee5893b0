// What a job of the variational engine is: B models of one shape, scheme and method, each reading `slots` sequences
// per step (processed `chunkSlots` at a time) and drawing `samples` Monte Carlo samples. Types and chunk arithmetic
// only, so that the job, its workspace layout and its sizing can all speak of a spec without importing one another.
import type { AdamSettings } from '../model/adam.js';
import type { ParamLayout } from '../model/params.js';
import type { ResolvedMethod } from '../model/types.js';

/**
 * What a job computes, and so which stages it dispatches (the tables in src/engine/stages.ts):
 *   train:    drive, sample q, ln p (+delta), backward, sum weights, sum instance, sum samples, visible product,
 *             sum gradient, Adam, advance; or on the fused path (isFused): instance gradient, sum gradient, Adam, advance
 *   gradient: the same without Adam
 *   evaluate: drive, evaluate samples (Poisson; q and p in one kernel), accumulate evidence
 *   logJoint: drive, given samples (ln q), ln p alone, sum weights        -> sampleWeights = ln p(X, Z)
 *   logQ:     drive, given samples (ln q)                                 -> weightTerms = -ln q per bin
 *   posterior: drive, sample q (Philox noise)                            -> means and hiddenCounts per (instance, bin, hidden)
 */
export type JobMode = 'train' | 'gradient' | 'evaluate' | 'logJoint' | 'logQ' | 'posterior';

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
  /**
   * How a gradient job runs its stages: 'auto' (default) takes the fused path wherever the model is within
   * FUSED_LIMITS, 'staged' never does, and 'fused' insists (an error outside the limits).
   */
  path?: JobPath;
}

export type JobPath = 'auto' | 'staged' | 'fused';

/**
 * The models the fused path serves (twins of the FUSED_MAX_* constants of shaders/instance_gradient.wgsl): a thread
 * keeps the model's parameters and its own gradient sums in registers, so the shape must be small (q's inputs per
 * hidden unit, at most 2V, then fit too). Larger models have the work per bin that the staged path's tiled products
 * are for.
 */
export const FUSED_LIMITS = { neurons: 8, hidden: 4, basis: 16 } as const;

/** Why a spec cannot take the fused path, or undefined when it can. */
function fusedObstacle(spec: JobSpec): string | undefined {
  const { layout } = spec;
  if (!computesGradient(spec.mode)) return `a ${spec.mode} job has no gradient to fuse`;
  if (spec.noise === 'given') return 'a job on given samples';
  if (spec.storeRates) return 'a job that keeps every rate';
  if (layout.neurons > FUSED_LIMITS.neurons) return `${layout.neurons} neurons (at most ${FUSED_LIMITS.neurons})`;
  if (layout.hidden > FUSED_LIMITS.hidden) return `${layout.hidden} hidden neurons (at most ${FUSED_LIMITS.hidden})`;
  if (spec.basis.length > FUSED_LIMITS.basis) return `a basis of ${spec.basis.length} lags (at most ${FUSED_LIMITS.basis})`;
  return undefined;
}

/** Whether a job runs on the fused path: one thread per instance through the whole gradient (instance_gradient.wgsl). */
export function isFused(spec: JobSpec): boolean {
  const path = spec.path ?? 'auto';
  if (path === 'staged') return false;
  const obstacle = fusedObstacle(spec);
  if (path === 'fused' && obstacle) throw new Error(`the fused path cannot run ${obstacle}: use path 'auto' or 'staged'`);
  return obstacle === undefined;
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
