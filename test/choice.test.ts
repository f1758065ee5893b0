// Choosing H from a sweep: standard errors of the mean over seeds and test sequences, pooled exactly from each fit's
// mean and variance, and the pick with how sure it is.
import { describe, expect, it } from 'vitest';
import { chooseHidden, normalCdf, pooledPoint, type SweepFit } from '../src/api/choice.js';

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const variance = (values: number[]): number => values.reduce((a, b) => a + (b - mean(values)) ** 2, 0) / (values.length - 1);
const asMetrics = (perSequence: number[]) => ({ testMarginalLogLikelihood: mean(perSequence), testMarginalLogLikelihoodVariance: variance(perSequence), sequences: perSequence.length });

describe('the choice of H', () => {
  it('pools fits into the standard error of all their (seed, sequence) values', () => {
    const seeds = [
      [-10, -12, -11, -13],
      [-9, -14, -10, -12],
      [-11, -11, -12, -10],
    ];
    const all = seeds.flat();
    const point = pooledPoint(2, seeds.map(asMetrics));
    expect(point.mean).toBeCloseTo(mean(all), 12);
    expect(point.standardError).toBeCloseTo(Math.sqrt(variance(all) / all.length), 12);
    expect(point.fits).toBe(3);
  });

  it('picks the H with the best held-out likelihood and says how sure it is', () => {
    const fits: SweepFit[] = [];
    const add = (hidden: number, values: number[][]): void => values.forEach((sequence) => fits.push({ scheme: 'FB', method: 'exponential', hidden, metrics: asMetrics(sequence) }));
    add(1, [[-20, -21, -19], [-20, -22, -21]]);
    add(2, [[-15, -16, -14], [-15, -17, -16]]);
    add(3, [[-15.5, -16.5, -14.5], [-15.5, -17.5, -16.5]]);
    const [choice] = chooseHidden(fits);
    expect(choice.chosen).toBe(2);
    expect(choice.runnerUp).toBe(3);
    expect(choice.margin).toBeCloseTo(0.5, 12);
    const [two, three] = [choice.points[1], choice.points[2]];
    expect(choice.marginInStandardErrors).toBeCloseTo(0.5 / Math.hypot(two.standardError, three.standardError), 12);
    expect(choice.confidence).toBeCloseTo(normalCdf(choice.marginInStandardErrors!), 12);
    expect(choice.confidence!).toBeGreaterThan(0.5);
    expect(choice.confidence!).toBeLessThan(0.95);
    expect(choice.paired).toBe(false);
  });

  it('compares the pick with the runner-up sequence by sequence where it can: the shared difficulty cancels', () => {
    const fits: SweepFit[] = [];
    const hard = [-30, -10, -25, -12, -18, -22];
    // H = 2 is better by 0.5 +- 0.1 on every sequence; across sequences both vary by about 8.
    const add = (hidden: number, seed: number, shift: (s: number) => number): void => {
      const values = hard.map((value, s) => value + shift(s) + seed);
      fits.push({ scheme: 'F', method: 'poisson', hidden, seed, dataset: 'd', metrics: { ...asMetrics(values), testMarginalLogLikelihoodPerSequence: values } });
    };
    for (const seed of [0, 1]) {
      add(1, seed, () => 0);
      add(2, seed, (s) => 0.5 + (s % 2 === 0 ? 0.1 : -0.1));
    }
    const [choice] = chooseHidden(fits);
    expect(choice.chosen).toBe(2);
    expect(choice.paired).toBe(true);
    const differences = [0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4];
    expect(choice.marginInStandardErrors).toBeCloseTo(0.5 / Math.sqrt(variance(differences) / differences.length), 9);
    expect(choice.confidence!).toBeGreaterThan(0.999);
  });

  it('computes the normal CDF to about 1e-7 (the erf approximation is good to 1.5e-7)', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959963985)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655254, 6);
  });
});
