// Special functions in float64. lgamma comes from mathjs, so the reference does not share code with the WGSL
// approximations it checks.
import { lgamma } from 'mathjs';

export function logGamma(x: number): number {
  return lgamma(x) as number;
}

export function logFactorial(k: number): number {
  return logGamma(k + 1);
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function logSumExp(values: readonly number[]): number {
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  if (max === -Infinity) return -Infinity;
  if (!Number.isFinite(max)) return max;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - max);
  return max + Math.log(sum);
}

export function logSoftmax(values: readonly number[]): number[] {
  const normaliser = logSumExp(values);
  return values.map((value) => value - normaliser);
}

export function softmax(values: readonly number[]): number[] {
  return logSoftmax(values).map(Math.exp);
}
