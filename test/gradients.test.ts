// The gradient contract, for every scheme x method: (1) the float64 reference's hand-derived gradient agrees with
// central finite differences of the float64 objective; (2) the GPU's f32 ELBO and gradient agree with the float64
// ones for the same base noise.
import { describe, expect, it } from 'vitest';
import { METHODS, SCHEMES } from '../src/model/types.js';
import { elboAndGradient, objectiveForFiniteDifferences } from '../src/reference/model.js';
import { useGpuSession } from './helpers/gpu.js';
import { centralDifferences, gradientOnDevice, makeProblem, relativeError } from './helpers/problems.js';

const cases = SCHEMES.flatMap((scheme) => METHODS.map((method) => ({ scheme, method })));

describe('float64 reference gradients match finite differences', () => {
  it.each(cases)('$scheme $method', ({ scheme, method }) => {
    const problem = makeProblem(scheme, method);
    const analytic = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    const objective = objectiveForFiniteDifferences(problem.model, problem.params, problem.sequences, problem.noise);
    const numeric = centralDifferences(objective, problem.params);
    // Central differences with step 1e-5 on an O(100) objective: truncation and rounding near 1e-9 relative.
    expect(relativeError(analytic.gradient, numeric)).toBeLessThan(1e-6);
    // The ELBO is the mean of the sample weights; for pathwise methods it is also the objective differenced above
    // (score methods difference the spec's surrogate instead, whose value is not the ELBO).
    const weights = analytic.weights.flat();
    expect(analytic.elbo).toBeCloseTo(weights.reduce((sum, w) => sum + w, 0) / weights.length, 9);
    if (problem.method.info.estimator === 'pathwise') expect(objective(problem.params)).toBeCloseTo(analytic.elbo, 9);
  });
});

// Both paths of a small model: the fused one (one thread per instance, instance_gradient.wgsl) that such models take
// by default, and the staged one that larger models take.
const pathCases = cases.flatMap((c) => (['fused', 'staged'] as const).map((path) => ({ ...c, path })));

describe('GPU ELBO and gradient match the float64 reference', () => {
  const gpu = useGpuSession();
  it.each(pathCases)('$scheme $method ($path)', async ({ scheme, method, path }) => {
    const problem = makeProblem(scheme, method, { bins: 20, sequences: 3, samples: 3 });
    const expected = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    const actual = await gradientOnDevice(gpu(), problem, path);
    // f32 against float64: the ELBO to 1e-5 relative, every sample weight to 1e-4 absolute per nat of scale, and
    // the whole gradient vector to 1e-4 relative (f32 lands near 1e-7; the issue asks for 1e-3).
    expect(Math.abs(actual.elbo - expected.elbo)).toBeLessThan(1e-5 * Math.abs(expected.elbo) + 1e-4);
    expect(actual.weights.flat()).toHaveLength(expected.weights.flat().length);
    actual.weights.flat().forEach((weight, index) => {
      const reference = expected.weights.flat()[index];
      expect(Math.abs(weight - reference)).toBeLessThan(1e-4 * Math.abs(reference) + 1e-3);
    });
    expect(relativeError(actual.gradient, expected.gradient)).toBeLessThan(1e-4);
  });
});

// The same two tiers where the gradient's visible columns are real matrix products: N > 256 for every scheme and
// method, and the 1,024-neuron size of real recordings. Finite differences cover a sample of coordinates from every
// parameter block (a full sweep of ~10^5 coordinates would take minutes in float64).
function sampledCoordinates(problem: ReturnType<typeof makeProblem>, perBlock: number): number[] {
  const { layout } = problem;
  const blocks: [number, number][] = [
    [layout.weightOffset, layout.biasOffset],
    [layout.biasOffset, layout.forwardOffset],
    [layout.forwardOffset, layout.backwardOffset],
    [layout.backwardOffset, layout.variationalBiasOffset],
    [layout.variationalBiasOffset, layout.total],
  ];
  return blocks.flatMap(([start, end]) =>
    end > start ? Array.from({ length: perBlock }, (_, i) => start + Math.floor(((i + 0.5) / perBlock) * (end - start))) : [],
  );
}

function checkSampledDifferences(problem: ReturnType<typeof makeProblem>, gradient: Float64Array, coordinates: number[]): void {
  const objective = objectiveForFiniteDifferences(problem.model, problem.params, problem.sequences, problem.noise);
  const probe = Float64Array.from(problem.params);
  const step = 1e-5;
  const analytic: number[] = [];
  const numeric: number[] = [];
  for (const i of coordinates) {
    probe[i] = problem.params[i] + step;
    const up = objective(probe);
    probe[i] = problem.params[i] - step;
    const down = objective(probe);
    probe[i] = problem.params[i];
    numeric.push((up - down) / (2 * step));
    analytic.push(gradient[i]);
  }
  expect(relativeError(analytic, numeric)).toBeLessThan(1e-6);
}

describe('at N > 256 (V = 300, H = 4): float64 against finite differences, GPU against float64', () => {
  const gpu = useGpuSession();
  it.each(cases)('$scheme $method', async ({ scheme, method }) => {
    const problem = makeProblem(scheme, method, { visible: 300, hidden: 4, bins: 24, sequences: 2, samples: 2, paramScale: 0.2 });
    const expected = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    if (method === 'exponential' || method === 'poisson') checkSampledDifferences(problem, expected.gradient, sampledCoordinates(problem, 4));
    const actual = await gradientOnDevice(gpu(), problem);
    expect(Math.abs(actual.elbo - expected.elbo)).toBeLessThan(1e-5 * Math.abs(expected.elbo) + 1e-4);
    // Sums of ~10^4 f32 terms per visible-column entry: 1e-4 relative on the whole vector, as at the small size.
    expect(relativeError(actual.gradient, expected.gradient)).toBeLessThan(1e-4);
  });

  it('1,024 visible + 8 hidden neurons, FB exponential', async () => {
    const problem = makeProblem('FB', 'exponential', { visible: 1024, hidden: 8, bins: 24, sequences: 2, samples: 2, paramScale: 0.1 });
    const expected = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    checkSampledDifferences(problem, expected.gradient, sampledCoordinates(problem, 2));
    const actual = await gradientOnDevice(gpu(), problem);
    expect(actual.gradient).toHaveLength(problem.layout.total);
    expect(Math.abs(actual.elbo - expected.elbo)).toBeLessThan(1e-5 * Math.abs(expected.elbo) + 1e-4);
    expect(relativeError(actual.gradient, expected.gradient)).toBeLessThan(1e-4);
  });
});
