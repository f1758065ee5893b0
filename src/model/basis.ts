// The spike-history basis psi[0..L-1] of the model: psi[l-1] weighs the spike l bins back.

/** The paper's basis length, the default of fits and of the synthetic data. */
export const DEFAULT_BASIS_LENGTH = 5;
export const DEFAULT_BASIS_DECAY = 0.25;

/** psi[l-1] = exp(-decay*l) / sum_k exp(-decay*k), l = 1..L, so that binWidth * sum(psi) = 1. */
export function exponentialBasis(length = DEFAULT_BASIS_LENGTH, decay = DEFAULT_BASIS_DECAY, binWidth = 1): number[] {
  if (!Number.isInteger(length) || length < 1) throw new Error(`basis length ${length} must be a positive integer`);
  if (!(decay >= 0) || !Number.isFinite(decay)) throw new Error(`basis decay ${decay} must be a finite number >= 0`);
  if (!(binWidth > 0) || !Number.isFinite(binWidth)) throw new Error(`bin width ${binWidth} must be positive`);
  const raw = Array.from({ length }, (_, index) => Math.exp(-decay * (index + 1)));
  const total = raw.reduce((sum, value) => sum + value, 0);
  return raw.map((value) => value / (total * binWidth));
}
