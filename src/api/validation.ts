// Training until convergence (`epochs: 'auto'`): the last part of the training sequences is held out, and after each
// epoch the model's ELBO on it (both models switched to Poisson, as in evaluation, with the same noise every epoch so
// that epochs are compared on equal terms) decides whether to go on. Training stops once the held-out ELBO has not
// improved for `patience` epochs, or at `maxEpochs`; a fit that reaches the bound while still improving says so.
import type { ValidationRecord } from '../model/convergence.js';

export interface ValidationSettings {
  /** Fraction of the training sequences held out, from the end (default 0.2; at least one sequence). */
  fraction?: number;
  /** Epochs without a better held-out ELBO before training stops (default 5). */
  patience?: number;
  /** Upper bound on the epochs (default 500). */
  maxEpochs?: number;
  /** Monte Carlo samples per held-out sequence for its ELBO (default 64). */
  samples?: number;
}

export const VALIDATION_DEFAULTS: Required<ValidationSettings> = { fraction: 0.2, patience: 5, maxEpochs: 500, samples: 64 };

/** Checks the settings and fills in the defaults; `where` names them in messages ("fit.validation"). */
export function resolveValidation(settings: ValidationSettings | undefined, sequences: number, where: string): Required<ValidationSettings> & { held: number } {
  // A setting given as undefined takes its default, as one left out does.
  const given = Object.fromEntries(Object.entries(settings ?? {}).filter(([, value]) => value !== undefined));
  const resolved = { ...VALIDATION_DEFAULTS, ...given } as Required<ValidationSettings>;
  if (!(resolved.fraction > 0 && resolved.fraction < 1)) throw new Error(`${where}.fraction must be between 0 and 1, got ${resolved.fraction}`);
  for (const name of ['patience', 'maxEpochs', 'samples'] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] < 1) throw new Error(`${where}.${name} must be a positive integer, got ${resolved[name]}`);
  }
  const held = Math.max(1, Math.round(sequences * resolved.fraction));
  if (held >= sequences) throw new Error(`${where}: holding out ${held} of ${sequences} training sequences leaves none to train on: give more sequences or a smaller fraction`);
  return { ...resolved, held };
}

/** The held-out ELBO after each epoch, and whether training should stop. */
export class ValidationTracker {
  readonly history: number[] = [];
  private best = Number.NEGATIVE_INFINITY;
  private bestEpoch = 0;

  constructor(private readonly settings: Required<ValidationSettings> & { held: number }) {}

  /** Records the held-out ELBO after `epoch` (1-based); true when training should stop. */
  record(epoch: number, elbo: number): boolean {
    this.history.push(elbo);
    if (elbo > this.best) {
      this.best = elbo;
      this.bestEpoch = epoch;
    }
    return epoch - this.bestEpoch >= this.settings.patience;
  }

  summary(epochsCompleted: number, interrupted: boolean): ValidationRecord {
    const converged = epochsCompleted - this.bestEpoch >= this.settings.patience;
    return {
      sequences: this.settings.held,
      samples: this.settings.samples,
      patience: this.settings.patience,
      maxEpochs: this.settings.maxEpochs,
      history: this.history,
      bestEpoch: this.bestEpoch,
      stopped: interrupted ? 'interrupted' : converged ? 'converged' : 'max-epochs',
      stillImproving: !interrupted && !converged,
    };
  }
}
