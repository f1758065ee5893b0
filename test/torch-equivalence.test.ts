// The PyTorch baseline of the benchmark (bench/torch/poglm_torch.py, run as a subprocess) computes the same ELBO and
// gradient as the library for the same base noise, so that the race is between equals: (1) torch in float64 against
// the float64 reference (src/reference/model.ts), for every scheme x method; (2) torch in float32 (what the benchmark
// times) against the WGSL engine (computeElboGradient with given noise), for every scheme x method; (3) a torch
// training step applies Adam with the spec's settings; (4) the `time` command runs at the thread count it is given.
// Never skipped: scripts/setup.sh installs python3-torch, and without it every test here fails, saying so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython, torchGrad, torchStep, torchTime, type TorchGradProblem, type TorchGradResult, type TorchPython } from '../bench/torch/runner.js';
import { METHODS, SCHEMES } from '../src/model/types.js';
import { elboAndGradient } from '../src/reference/model.js';
import { useGpuSession } from './helpers/gpu.js';
import { gradientOnDevice, makeProblem, relativeError, type TestProblem } from './helpers/problems.js';

// The synthetic size: V = 3, H = 2, T = 100, the exponential basis of 5 bins; 3 sequences x 3 samples.
const cases = SCHEMES.flatMap((scheme) => METHODS.map((method) => ({ scheme, method })));
const problems: TestProblem[] = cases.map(({ scheme, method }) => makeProblem(scheme, method, { bins: 100, sequences: 3, samples: 3, basisLength: 5 }));
const indexOf = (scheme: string, method: string) => cases.findIndex((c) => c.scheme === scheme && c.method === method);

function torchProblem(problem: TestProblem): TorchGradProblem {
  return {
    visible: problem.layout.visible,
    hidden: problem.layout.hidden,
    scheme: problem.layout.scheme,
    method: problem.method.method,
    basis: problem.model.basis,
    params: problem.params,
    counts: problem.sequences,
    noise: problem.noise,
  };
}

interface Agreement {
  elbo: number;
  weights: number;
  gradient: number;
}

function agreement(actual: { elbo: number; weights: number[][]; gradient: ArrayLike<number> }, expected: { elbo: number; weights: number[][]; gradient: ArrayLike<number> }): Agreement {
  expect(actual.gradient.length).toBe(expected.gradient.length);
  expect(actual.weights.flat()).toHaveLength(expected.weights.flat().length);
  const flat = actual.weights.flat();
  return {
    elbo: Math.abs(actual.elbo - expected.elbo) / Math.abs(expected.elbo),
    weights: expected.weights.flat().reduce((worst, value, i) => Math.max(worst, Math.abs(flat[i] - value)), 0),
    gradient: relativeError(actual.gradient, expected.gradient),
  };
}

function expectWithin(result: Agreement, bounds: Agreement): void {
  expect(result.elbo).toBeLessThan(bounds.elbo);
  expect(result.weights).toBeLessThan(bounds.weights);
  expect(result.gradient).toBeLessThan(bounds.gradient);
}

// float64 torch against the float64 reference: the same formulas in the same precision, so only the order of the
// sums differs. Measured over the 21 cases: ELBO <= 2e-15 relative, w[s][m] <= 5e-12 absolute, gradient <= 2e-14
// relative. The bounds leave >= 100x margin and would catch any wrong term (even EPS = 1e-8 misplaced shows at ~1e-9).
const F64_BOUNDS: Agreement = { elbo: 1e-12, weights: 1e-9, gradient: 1e-11 };
// float32 torch against the f32 WGSL engine: each rounds every operation at 2^-24 ~ 6e-8, over sums of T x H x S x M
// terms of size ~1-10 with partial cancellation (ELBO ~ -500 to -1400, w ~ -150 to -500). Measured over the 21 cases:
// ELBO <= 2.3e-7 relative, w[s][m] <= 1e-3 absolute (~2e-6 relative), gradient <= 4.7e-6 relative (score methods
// are the loosest: w multiplies grad ln q, and a rounding difference in w enters every phi entry). The gradient
// bound, relative 1e-4 as in the tfjs equivalence test, leaves 20x margin; ELBO 40x, w 5x. An error in one
// formula term (an EPS, a lag, a missing factor) is orders of magnitude larger.
const F32_BOUNDS: Agreement = { elbo: 1e-5, weights: 5e-3, gradient: 1e-4 };

let python: TorchPython | undefined;
let torch64: TorchGradResult[] = [];
let torch32: TorchGradResult[] = [];
const report: string[] = [];
const format = (label: string, a: Agreement) =>
  `${label.padEnd(34)} elbo ${a.elbo.toExponential(1)}  w ${a.weights.toExponential(1)}  grad ${a.gradient.toExponential(1)}`;

function needTorch(): TorchPython {
  if (!python) {
    throw new Error('no Python with torch and numpy ($POGLM_PYTHON if set, else python3 and /usr/bin/python3): run bash scripts/setup.sh, which installs python3-torch and python3-numpy');
  }
  return python;
}

beforeAll(async () => {
  python = findTorchPython();
  if (!python) return;
  console.log(`torch tests on: ${python.python} (torch ${python.torch}, numpy ${python.numpy})`);
  // All 21 problems in one Python process per precision (importing torch takes ~1 s).
  [torch64, torch32] = await Promise.all([
    torchGrad(python.python, problems.map(torchProblem), 'float64'),
    torchGrad(python.python, problems.map(torchProblem), 'float32'),
  ]);
}, 300_000);

afterAll(() => {
  if (report.length > 0) console.log(`torch equivalence (relative ELBO, absolute weights, relative gradient):\n${report.join('\n')}`);
});

describe('torch (float64) matches the float64 reference', () => {
  it.each(cases)('$scheme $method', ({ scheme, method }) => {
    needTorch();
    const i = indexOf(scheme, method);
    const problem = problems[i];
    const expected = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    const result = agreement(torch64[i], expected);
    report.push(format(`torch f64 vs reference ${scheme} ${method}`, result));
    expectWithin(result, F64_BOUNDS);
    // The score surrogate's value is the ELBO.
    expect(Math.abs(torch64[i].objective - torch64[i].elbo)).toBeLessThan(1e-9 * Math.abs(expected.elbo));
  });
});

describe('torch (float32) and the WGSL engine', () => {
  const gpu = useGpuSession();

  it.each(cases)('WGSL engine matches torch f32: $scheme $method', async ({ scheme, method }) => {
    needTorch();
    const i = indexOf(scheme, method);
    const engine = await gradientOnDevice(gpu(), problems[i]);
    const result = agreement(engine, torch32[i]);
    report.push(format(`WGSL vs torch f32 ${scheme} ${method}`, result));
    expectWithin(result, F32_BOUNDS);
  });
});

describe('torch training step and timing', () => {
  it('one training step applies Adam (lr 0.05 theta, 0.1 phi, eps 1e-8) uphill on the ELBO', async () => {
    const { python: interpreter } = needTorch();
    for (const [scheme, method] of [['FB', 'exponential'], ['FS', 'poisson']] as const) {
      const i = indexOf(scheme, method);
      const problem = problems[i];
      const after = await torchStep(interpreter, torchProblem(problem), 'float64');
      expect(Math.abs(after.elbo - torch64[i].elbo)).toBeLessThan(1e-9 * Math.abs(torch64[i].elbo));
      expect(after.params).toHaveLength(problem.layout.total);
      // Adam's first step moves every parameter by lr * g / (|g| + eps): lr * sign(g) up to eps.
      const gradient = torch64[i].gradient;
      for (let p = 0; p < problem.layout.total; p++) {
        const rate = p < problem.layout.generativeCount ? 0.05 : 0.1;
        const expected = (rate * gradient[p]) / (Math.abs(gradient[p]) + 1e-8);
        expect(Math.abs(after.params[p] - problem.params[p] - expected)).toBeLessThan(1e-9);
      }
    }
  }, 120_000);

  it('the time command trains at the thread count it is given and keeps the parameters finite', async () => {
    const { python: interpreter } = needTorch();
    const problem = problems[indexOf('FB', 'exponential')];
    const timing = await torchTime(
      interpreter,
      { ...torchProblem(problem), samples: 3, seed: 1 },
      { threads: 2, warmup: 1, repeats: 2, targetMs: 50, budgetMs: 10_000 },
    );
    expect(timing.engine).toBe('torch');
    expect(timing.threads).toBe(2);
    expect(timing.dtype).toBe('float32');
    expect(timing.repeats).toBe(2);
    expect(timing.samplesMs).toHaveLength(2);
    expect(timing.stepMs).toBeGreaterThan(0);
    expect(timing.steps).toBeGreaterThanOrEqual(1);
    expect(timing.finiteParams).toBe(true);
  }, 120_000);
});
