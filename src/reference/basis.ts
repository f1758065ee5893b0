// The spike-history basis and the two convolutions of the spec, in float64.

/** psi[l-1] = exp(-decay*l) / sum_k exp(-decay*k), l = 1..L, so that binWidth * sum(psi) = 1. */
export function exponentialBasis(length = 5, decay = 0.25, binWidth = 1): number[] {
  if (!Number.isInteger(length) || length < 1) throw new Error(`basis length ${length} must be a positive integer`);
  if (!(decay >= 0) || !Number.isFinite(decay)) throw new Error(`basis decay ${decay} must be a finite number >= 0`);
  if (!(binWidth > 0) || !Number.isFinite(binWidth)) throw new Error(`bin width ${binWidth} must be positive`);
  const raw = Array.from({ length }, (_, index) => Math.exp(-decay * (index + 1)));
  const total = raw.reduce((sum, value) => sum + value, 0);
  return raw.map((value) => value / (total * binWidth));
}

/** cx[t][c] = sum_{l=1..L} psi[l-1] x[t-l][c], zero history before t = 0. */
export function convolveCausal(x: number[][], basis: number[]): number[][] {
  return x.map((row, t) =>
    row.map((_, c) => {
      let sum = 0;
      for (let l = 1; l <= basis.length && t - l >= 0; l++) sum += basis[l - 1] * x[t - l][c];
      return sum;
    }),
  );
}

/** rx[t][c] = sum_{l=1..L} psi[l-1] x[t+l][c], zero after the last bin. */
export function convolveAntiCausal(x: number[][], basis: number[]): number[][] {
  const bins = x.length;
  return x.map((row, t) =>
    row.map((_, c) => {
      let sum = 0;
      for (let l = 1; l <= basis.length && t + l < bins; l++) sum += basis[l - 1] * x[t + l][c];
      return sum;
    }),
  );
}
