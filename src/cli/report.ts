// What the fit and eval commands print: metrics as an aligned table, and which ground truth applies to a model.
import { groundTruthHiddenCount, type GroundTruth, type Metrics } from '../api/evaluate.js';
import type { ConvergenceCheck, ValidationRecord } from '../model/convergence.js';
import type { CountsFile } from './readers.js';
import type { CliContext } from './runner.js';
import { formatSeconds } from './progress.js';

export const round = (value: number, digits = 4): number => Number(value.toFixed(digits));

/**
 * The ground truth a `poglm synth` file carries applies only to a model with its number of hidden neurons: for any
 * other model it is left out, with a note, so that a sweep over H still gets its likelihoods.
 */
export function groundTruthFor(file: CountsFile, hidden: number, context: CliContext): GroundTruth {
  const carried: GroundTruth = { testHidden: file.hidden, truth: file.truth };
  const trueHidden = groundTruthHiddenCount(carried, file.visible[0][0].length);
  if (trueHidden === undefined) return {};
  if (trueHidden !== hidden) {
    context.err(`poglm: ${file.description} has ${trueHidden} true hidden neurons and the model ${hidden}: no ground-truth metrics`);
    return {};
  }
  return carried;
}

export function formatMetrics(metrics: Metrics): string {
  const rows: [string, number | undefined][] = [
    ['test marginal log-likelihood (per sequence)', metrics.testMarginalLogLikelihood],
    ['test ELBO (per sequence)', metrics.testElbo],
    ['predicted complete log-likelihood', metrics.predictedCompleteLogLikelihood],
    ['hidden log-likelihood', metrics.hiddenLogLikelihood],
    ['weight error (mean |W - W_true|)', metrics.weightError],
    ['bias error (mean |b - b_true|)', metrics.biasError],
    ['bits per spike over the homogeneous Poisson model', metrics.bitsPerSpikeOverHomogeneous],
    ['bits per spike over the GLM (hidden 0)', metrics.bitsPerSpikeOverGlm],
  ];
  return rows
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `  ${name.padEnd(50)} ${value!.toFixed(4)}`)
    .join('\n');
}

/** Says that a fit ended while its training ELBO still rose, and what to do about it. */
export function notConvergedNote(check: ConvergenceCheck): string {
  return (
    `the training ELBO was still rising when the fit ended (${check.slopePerEpoch.toFixed(3)} per epoch over the last ${check.window} epochs, ` +
    `${(check.slopePerEpoch / check.standardError).toFixed(1)} standard errors): the fit has likely not converged, and hidden neurons are often ` +
    'the last to take part; give more --epochs, or --epochs auto'
  );
}

/** Why a fit with --epochs auto stopped where it did. */
export function validationNote(validation: ValidationRecord, epochs: number): string {
  const best = `best held-out ELBO ${validation.history[validation.bestEpoch - 1]?.toFixed(3)} at epoch ${validation.bestEpoch}, over ${validation.sequences} held-out sequences`;
  if (validation.stopped === 'converged') return `stopped after ${epochs} epochs: the held-out ELBO had not improved for ${validation.patience} epochs (${best})`;
  if (validation.stopped === 'interrupted') return `interrupted after ${epochs} epochs (${best})`;
  return `reached --max-epochs ${validation.maxEpochs} while the held-out ELBO was still improving (${best}): the fit has not converged; raise --max-epochs`;
}

/** "evaluating: 40% of 25 chunks of samples (12.0 s, 18.0 s left)". */
export function evaluationProgress(done: number, total: number, started: number): string {
  const elapsed = (performance.now() - started) / 1000;
  const left = (elapsed / Math.max(done, 1)) * (total - done);
  return `evaluating: ${Math.round((100 * done) / total)}% of ${total} chunks of samples (${formatSeconds(elapsed)}, ${formatSeconds(left)} left)`;
}
