// What the hidden neurons add, in bits per test spike: a model's test log-likelihood against the homogeneous Poisson
// baseline (a constant rate per neuron from the training data) and against the fully observed GLM fitted on the same
// training data (hidden 0), the baseline every hidden neuron must beat.
import type { Metrics } from './evaluate.js';
import { evaluateGlm, fitGlm, type GlmSettings } from './glm.js';
import type { GpuSession } from '../engine/session.js';
import { bitsPerSpike, homogeneousBaseline, type HomogeneousBaseline } from '../model/metrics.js';

export interface BaselineOptions {
  session?: GpuSession;
  signal?: AbortSignal;
  /** How to fit the GLM baseline (its epochs, batch, learning rate, seed, basis); leave out to skip it. */
  glm?: GlmSettings;
}

/** A model's whole test log-likelihood: its mean per sequence times the sequences. */
export function totalLogLikelihood(metrics: Pick<Metrics, 'testMarginalLogLikelihood' | 'sequences'>): number {
  return metrics.testMarginalLogLikelihood * metrics.sequences;
}

/** The homogeneous baseline's whole test log-likelihood. */
export function baselineLogLikelihood(baseline: HomogeneousBaseline): number {
  return baseline.logLikelihood.reduce((a, b) => a + b, 0);
}

/** `metrics` (of a model on `test`) with bits per spike over the homogeneous baseline and, if asked, over the GLM. */
export async function withBaselineMetrics(metrics: Metrics, train: number[][][], test: number[][][], options: BaselineOptions = {}): Promise<Metrics> {
  const baseline = homogeneousBaseline(train, test);
  // A test set without spikes has no bits per spike to speak of.
  if (!(baseline.spikes > 0)) return metrics;
  const total = totalLogLikelihood(metrics);
  const result: Metrics = { ...metrics, bitsPerSpikeOverHomogeneous: bitsPerSpike(total, baselineLogLikelihood(baseline), baseline.spikes) };
  if (options.glm) {
    const glm = await fitGlm(train, options.glm, { session: options.session, signal: options.signal });
    const scored = await evaluateGlm(glm.model, test, { session: options.session, signal: options.signal });
    result.bitsPerSpikeOverGlm = bitsPerSpike(total, totalLogLikelihood(scored), baseline.spikes);
  }
  return result;
}
