// Statistics for distribution tests: moments and the one-sample Kolmogorov-Smirnov distance.
import { erf } from 'mathjs';

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

export function variance(values: ArrayLike<number>): number {
  const m = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] - m) ** 2;
  return sum / (values.length - 1);
}

/** sup |F_n(x) - F(x)|. */
export function ksDistance(values: ArrayLike<number>, cdf: (x: number) => number): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let distance = 0;
  sorted.forEach((x, i) => {
    const f = cdf(x);
    distance = Math.max(distance, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return distance;
}

/** KS critical value at significance 0.001 for n samples (asymptotic). */
export const ksCritical = (n: number): number => 1.949 / Math.sqrt(n);

export const normalCdf = (x: number): number => 0.5 * (1 + (erf(x / Math.SQRT2) as number));
export const gumbelCdf = (x: number): number => Math.exp(-Math.exp(-x));
export const EULER_GAMMA = 0.5772156649015329;
