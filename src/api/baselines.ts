// What the hidden neurons add, in bits per test spike: a model's test log-likelihood against the homogeneous Poisson
// baseline (a constant rate per neuron from the training data) and against the fully observed GLM fitted on the same
// training data (hidden 0), the baseline every hidden neuron must beat.
import type { Metrics } from './evaluate.js';
import { evaluateGlm, fitGlm, type GlmSettings } from './glm.js';
import type { GpuSession } from '../engine/session.js';
import { bitsPerSpike, homogeneousBaseline } from '../model/metrics.js';

export interface BaselineOptions {
  session?: GpuSession;
  signal?: AbortSignal;
  /** How to fit the GLM baseline (its epochs, batch, learning rate, seed, basis); leave out to skip it. */
  glm?: GlmSettings;
}

/** `metrics` (of a model on `test`) with bits per spike over the homogeneous baseline and, if asked, over the GLM. */
export async function withBaselineMetrics(metrics: Metrics, train: number[][][], test: number[][][], options: BaselineOptions = {}): Promise<Metrics> {
  const baseline = homogeneousBaseline(train, test);
  // A test set without spikes has no bits per spike to speak of.
  if (!(baseline.spikes > 0)) return metrics;
  const total = metrics.testMarginalLogLikelihood * metrics.sequences;
  const result: Metrics = {
    ...metrics,
    bitsPerSpikeOverHomogeneous: bitsPerSpike(total, baseline.logLikelihood.reduce((a, b) => a + b, 0), baseline.spikes),
  };
  if (options.glm) {
    const glm = await fitGlm(train, options.glm, { session: options.session, signal: options.signal });
    const scored = await evaluateGlm(glm.model, test, { session: options.session, signal: options.signal });
    result.bitsPerSpikeOverGlm = bitsPerSpike(total, scored.testMarginalLogLikelihood * scored.sequences, baseline.spikes);
  }
  return result;
}
