// Float64 twin of the GLM kernels (shaders/glm.wgsl) and of a GLM fit. With no hidden neurons the POGLM's ln p(X, Z)
// is the fully observed GLM's ln p(X), and its ELBO, for a single (empty) sample, is that ln p exactly: so the twin is
// src/reference/model.ts and src/reference/training.ts at H = 0, not a second derivation that could drift from them.
import { PAPER_ADAM } from '../model/adam.js';
import { paramLayout } from '../model/params.js';
import { stepsPerEpoch } from '../model/schedule.js';
import { resolveMethod } from '../model/types.js';
import { elboAndGradient, logJoint, type ReferenceModel } from './model.js';
import { referenceTraining } from './training.js';

/** The GLM as a reference model: V visible neurons, no hidden ones (the method is never used). */
export function glmReferenceModel(visible: number, basis: number[]): ReferenceModel {
  return { layout: paramLayout(visible, 0, 'F'), basis, method: resolveMethod({ method: 'poisson' }) };
}

/** No hidden neurons: one sample of nothing per bin. */
const emptySamples = (x: number[][]): number[][][] => x.map(() => []);

/** ln p(X) of each sequence, ln x! included. */
export function glmLogLikelihoodReference(params: ArrayLike<number>, sequences: number[][][], basis: number[]): number[] {
  const model = glmReferenceModel(sequences[0][0].length, basis);
  return sequences.map((x) => logJoint(model, params, x, emptySamples(x)).value);
}

/** Mean over the sequences of ln p(X), and its gradient (W then b): what one GLM step ascends. */
export function glmGradientReference(
  params: ArrayLike<number>,
  sequences: number[][][],
  basis: number[],
): { logLikelihood: number; gradient: Float64Array } {
  const model = glmReferenceModel(sequences[0][0].length, basis);
  const { elbo, gradient } = elboAndGradient(model, params, sequences, sequences.map((x) => [emptySamples(x)]));
  return { logLikelihood: elbo, gradient };
}

/**
 * A GLM fit as the GPU runs it: the same minibatch schedule per (seed, epoch), the exact gradient, PyTorch's Adam at
 * `learningRate`. Returns the parameters and each epoch's mean over its steps of the minibatch mean of ln p.
 */
export function glmTrainingReference(
  init: ArrayLike<number>,
  sequences: number[][][],
  options: { basis: number[]; seed: number; epochs: number; batchSize: number; learningRate?: number },
): { params: Float64Array; elboHistory: number[] } {
  const model = glmReferenceModel(sequences[0][0].length, options.basis);
  const adam = { ...PAPER_ADAM, learningRateGenerative: options.learningRate ?? PAPER_ADAM.learningRateGenerative };
  const { params, elbos } = referenceTraining(model, init, sequences, { ...options, samples: 1, adam });
  const steps = stepsPerEpoch(sequences.length, Math.min(options.batchSize, sequences.length));
  const elboHistory = Array.from({ length: options.epochs }, (_, epoch) => elbos.slice(epoch * steps, (epoch + 1) * steps).reduce((a, b) => a + b, 0) / steps);
  return { params, elboHistory };
}
