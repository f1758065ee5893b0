// Small host-side numerics (log factorials for the data, log-sum-exp) without pulling mathjs into browser builds.

const LOG_FACTORIAL_CACHE: number[] = [0];

/** ln(k!) for a non-negative integer k: exact sums of logs up to 1024, Stirling's series beyond (error < 1e-12). */
export function logFactorialInteger(k: number): number {
  if (k < 1024) {
    while (LOG_FACTORIAL_CACHE.length <= k) {
      const n = LOG_FACTORIAL_CACHE.length;
      LOG_FACTORIAL_CACHE.push(LOG_FACTORIAL_CACHE[n - 1] + Math.log(n));
    }
    return LOG_FACTORIAL_CACHE[k];
  }
  const x = k + 1;
  const inverse = 1 / x;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + inverse / 12 - inverse ** 3 / 360;
}

export function logSumExpArray(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  if (!Number.isFinite(max)) return max;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i] - max);
  return max + Math.log(sum);
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** The sample variance (n - 1 in the denominator); 0 for fewer than two values, which have no spread to measure. */
export function sampleVariance(values: ArrayLike<number>): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] - m) ** 2;
  return sum / (values.length - 1);
}
