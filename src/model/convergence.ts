// Whether a fit had stopped improving when it ended: the slope of the training ELBO over its last epochs, against
// its own noise. A fit that ends while the ELBO still rises has not converged, and its model says so, because the
// hidden neurons are often the last to take part (they start unused and the ELBO climbs again once they do).

export interface ConvergenceCheck {
  /** The ELBO still rose at the end: the least-squares slope over the last `window` epochs exceeds 2 standard errors. */
  stillImproving: boolean;
  /** ELBO per epoch over the window. */
  slopePerEpoch: number;
  standardError: number;
  window: number;
}

/** Epochs the trend is taken over: the last quarter of the fit, at least 5 (all of a shorter one). */
export function trendWindow(epochs: number): number {
  return Math.min(epochs, Math.max(5, Math.ceil(epochs / 4)));
}

/** The trend of the last epochs of `history` (mean training ELBO per epoch); undefined for fewer than 3 epochs. */
export function convergenceOf(history: number[]): ConvergenceCheck | undefined {
  const finite = history.filter(Number.isFinite);
  if (finite.length < 3) return undefined;
  const window = trendWindow(finite.length);
  const tail = finite.slice(-window);
  const { slope, standardError } = leastSquaresSlope(tail);
  return { stillImproving: slope > 0 && slope > 2 * standardError, slopePerEpoch: slope, standardError, window };
}

/** The slope of y against 0..n-1 and its standard error (residual variance over n - 2 degrees of freedom). */
export function leastSquaresSlope(values: number[]): { slope: number; standardError: number } {
  const n = values.length;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  values.forEach((y, x) => {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
  });
  const slope = sxy / sxx;
  const residual = values.reduce((total, y, x) => total + (y - meanY - slope * (x - meanX)) ** 2, 0);
  // Two points fit any line exactly: no residual to measure noise with.
  const standardError = n > 2 ? Math.sqrt(residual / (n - 2) / sxx) : Number.POSITIVE_INFINITY;
  return { slope, standardError };
}

/** What a model records of its validation (TrainingRecord.validation; src/api/validation.ts makes it). */
export interface ValidationRecord {
  sequences: number;
  samples: number;
  patience: number;
  maxEpochs: number;
  /** Mean held-out ELBO per sequence after each epoch. */
  history: number[];
  /** The epoch (1-based) of the best held-out ELBO. */
  bestEpoch: number;
  /** "converged": no improvement for `patience` epochs; "max-epochs": stopped by the bound; "interrupted". */
  stopped: 'converged' | 'max-epochs' | 'interrupted';
  /** True when the bound was reached within `patience` epochs of the best: still improving, not converged. */
  stillImproving: boolean;
}
