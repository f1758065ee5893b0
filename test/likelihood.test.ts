// The generative log-likelihood ln p(X, Z), the firing rates, and ln q(Z | X) of given hidden spikes on the GPU,
// against the float64 reference, for every distribution D and scheme; and the convolutions behind them.
import { describe, expect, it } from 'vitest';
import { uploadDataset } from '../src/engine/dataset.js';
import { computeLogJoint, computeLogQ } from '../src/engine/likelihood.js';
import { METHODS, SCHEMES } from '../src/model/types.js';
import { exponentialBasis } from '../src/model/basis.js';
import { convolveAntiCausal, convolveCausal } from '../src/reference/basis.js';
import { logJoint, logQOfSamples, traceSample } from '../src/reference/model.js';
import { useGpuSession } from './helpers/gpu.js';
import { makeProblem, type TestProblem } from './helpers/problems.js';

const gpu = useGpuSession();

describe('convolutions', () => {
  it.each([
    { basisLength: 1, bins: 7 },
    { basisLength: 5, bins: 40 },
    { basisLength: 10, bins: 12 },
  ])('causal and anti-causal match the reference (L = $basisLength, T = $bins)', async ({ basisLength, bins }) => {
    const basis = exponentialBasis(basisLength);
    const data = Array.from({ length: 3 }, (_, s) =>
      Array.from({ length: bins }, (_, t) => Array.from({ length: 4 }, (_, v) => (s * 7 + t * 3 + v * 5) % 4)),
    );
    const dataset = await uploadDataset(gpu(), [data], basis);
    try {
      const causal = await dataset.read('conv');
      const antiCausal = await dataset.read('backConv');
      const expectedCausal = data.flatMap((x) => convolveCausal(x, basis).flat());
      const expectedAnti = data.flatMap((x) => convolveAntiCausal(x, basis).flat());
      // Sums of at most 5 products of O(1) values in f32: 5 decimals.
      expect(causal).toHaveLength(expectedCausal.length);
      expect(antiCausal).toHaveLength(expectedAnti.length);
      expectedCausal.forEach((value, i) => expect(causal[i]).toBeCloseTo(value, 5));
      expectedAnti.forEach((value, i) => expect(antiCausal[i]).toBeCloseTo(value, 5));
    } finally {
      dataset.release();
    }
  });
});

/**
 * One sample per sequence traced by the float64 reference, and its hidden values as the API takes them: counts or
 * continuous values, or for Gumbel-Softmax methods the relaxed one-hot vector (the trace keeps its logarithm).
 */
function givenHiddenValues(problem: TestProblem) {
  const traces = problem.sequences.map((x, s) => traceSample(problem.model, problem.params, x, problem.noise[s][0]));
  const hidden = traces.map((trace) =>
    trace.samples.map((bin) => bin.map((sample) => (problem.method.info.gumbelSoftmax ? sample.map(Math.exp) : sample[0]))),
  );
  return { traces, hidden };
}

describe('ln p(X, Z) and the firing rates for given hidden spikes', () => {
  it.each(METHODS)('%s', async (method) => {
    const problem = makeProblem('FB', method, { bins: 25, sequences: 3, samples: 1 });
    const { traces, hidden } = givenHiddenValues(problem);
    const actual = await computeLogJoint(gpu(), {
      layout: problem.layout,
      basis: problem.model.basis,
      method: problem.method,
      params: problem.params,
      sequences: problem.sequences,
      hidden,
      rates: true,
    });
    traces.forEach((trace, s) => {
      const expected = logJoint(problem.model, problem.params, problem.sequences[s], trace.samples);
      // ln p sums ~100 f32 terms of O(1-10): 1e-5 relative plus 1e-3 absolute covers the rounding (measured ~1e-5).
      expect(Math.abs(actual.logJoint[s] - expected.value)).toBeLessThan(1e-5 * Math.abs(expected.value) + 1e-3);
      const rates = actual.rates![s].flat();
      // Rates are sigmoids in (0, 1): f32 gives them to ~1e-7.
      expect(rates).toHaveLength(expected.lambda.flat().length);
      expected.lambda.flat().forEach((rate, i) => expect(Math.abs(rates[i] - rate)).toBeLessThan(1e-6));
    });
  });
});

describe('ln q(Z | X) for given hidden spikes', () => {
  const cases = SCHEMES.flatMap((scheme) => (['poisson', 'exponential', 'gs-pathwise'] as const).map((method) => ({ scheme, method })));
  it.each(cases)('$scheme $method', async ({ scheme, method }) => {
    const problem = makeProblem(scheme, method, { bins: 25, sequences: 2, samples: 1 });
    const { traces, hidden } = givenHiddenValues(problem);
    const actual = await computeLogQ(gpu(), {
      layout: problem.layout,
      basis: problem.model.basis,
      method: problem.method,
      params: problem.params,
      sequences: problem.sequences,
      hidden,
    });
    traces.forEach((trace, s) => {
      const expected = logQOfSamples(problem.model, problem.params, problem.sequences[s], trace.samples);
      expect(expected).toBeCloseTo(trace.logQ, 9);
      // The same f32 rounding budget as ln p above.
      expect(Math.abs(actual[s] - expected)).toBeLessThan(1e-5 * Math.abs(expected) + 1e-3);
    });
  });

  it('rejects hidden values that do not fit the method, naming the element', async () => {
    const problem = makeProblem('F', 'poisson', { bins: 10, sequences: 1, samples: 1 });
    const hidden = [Array.from({ length: 10 }, () => [0, 1])];
    hidden[0][3][1] = 0.5;
    await expect(
      computeLogQ(gpu(), { layout: problem.layout, basis: problem.model.basis, method: problem.method, params: problem.params, sequences: problem.sequences, hidden }),
    ).rejects.toThrow(/hidden\[0\]\[3\]\[1\] is 0.5: poisson hidden spikes must be non-negative integers/);
  });
});
