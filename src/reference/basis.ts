// The two convolutions with the spike-history basis, in float64 (the basis itself: src/model/basis.ts).

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
