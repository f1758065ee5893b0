// Whether a fit had stopped improving: the slope of the last epochs' training ELBO against its own noise.
import { describe, expect, it } from 'vitest';
import { convergenceOf, leastSquaresSlope, trendWindow } from '../src/model/convergence.js';

/** A deterministic wobble of amplitude `size`, so the tests need no random numbers. */
const wobble = (epoch: number, size: number): number => size * Math.sin(epoch * 2.3) * Math.cos(epoch * 0.7);

describe('the convergence check', () => {
  it('fits the slope and its standard error exactly on a line plus known residuals', () => {
    expect(leastSquaresSlope([1, 3, 5, 7]).slope).toBeCloseTo(2, 12);
    expect(leastSquaresSlope([1, 3, 5, 7]).standardError).toBeCloseTo(0, 12);
    // y = [0, 1, 0, 1]: slope 0.2, residuals [-0.2, 0.6, -0.6, 0.2] -> s^2 = 0.8 / 2, sxx = 5, se = sqrt(0.4 / 5).
    const fitted = leastSquaresSlope([0, 1, 0, 1]);
    expect(fitted.slope).toBeCloseTo(0.2, 12);
    expect(fitted.standardError).toBeCloseTo(Math.sqrt(0.4 / 5), 12);
  });

  it('takes the last quarter of the epochs, at least 5', () => {
    expect([3, 5, 8, 20, 100].map(trendWindow)).toEqual([3, 5, 5, 5, 25]);
  });

  it('calls a fit whose ELBO still climbs through its noise not converged', () => {
    const rising = Array.from({ length: 20 }, (_, epoch) => -300 + 2 * epoch + wobble(epoch, 1));
    const check = convergenceOf(rising)!;
    expect(check.stillImproving).toBe(true);
    expect(check.slopePerEpoch).toBeGreaterThan(1.5);
    expect(check.window).toBe(5);
  });

  it('calls a fit that rose and then levelled off converged, however noisy the plateau', () => {
    const levelled = Array.from({ length: 40 }, (_, epoch) => -300 + 100 * (1 - Math.exp(-epoch / 3)) + wobble(epoch, 2));
    expect(convergenceOf(levelled)!.stillImproving).toBe(false);
    const falling = Array.from({ length: 12 }, (_, epoch) => -200 - epoch);
    expect(convergenceOf(falling)!.stillImproving).toBe(false);
  });

  it('leaves too short a history undecided and skips non-finite epochs', () => {
    expect(convergenceOf([-10, -9])).toBeUndefined();
    expect(convergenceOf([Number.NaN, -10, -9])).toBeUndefined();
  });
});
