// The TensorFlow.js baseline of the benchmark (bench/tfjs) computes the same ELBO and gradient as the library for the
// same base noise, so that the race is between equals: (1) tfjs on its 'cpu' backend against the float64 reference,
// for every scheme x method; (2) tfjs on its 'webgpu' backend (sharing the WGSL engine's Dawn device, lavapipe in CI)
// against the reference and against the WGSL engine, for every scheme x method; (3) the WGSL engine
// (computeElboGradient) against tfjs on 'cpu', for every scheme x method; (4) tfjs training steps apply Adam with the
// spec's settings, do not leak tensors, and agree between the two tfjs backends.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend, registerWebgpuBackend, type WebgpuBackendHandle } from '../bench/tfjs/backend.js';
import { createTfjsPoglm, type TfjsElboResult } from '../bench/tfjs/poglm-tfjs.js';
import { METHODS, SCHEMES, type Method, type Scheme } from '../src/model/types.js';
import { elboAndGradient, type ElboResult } from '../src/reference/model.js';
import { useGpuSession } from './helpers/gpu.js';
import { gradientOnDevice, makeProblem, relativeError, type TestProblem } from './helpers/problems.js';

const cases = SCHEMES.flatMap((scheme) => METHODS.map((method) => ({ scheme, method })));
const problemFor = (scheme: Scheme, method: Method): TestProblem => makeProblem(scheme, method, { bins: 20, sequences: 3, samples: 3 });

const flatNoise = (problem: TestProblem): Float32Array => Float32Array.from(problem.noise.flat(4) as number[]);

/** The tfjs model of a problem on the current backend; with `params`, starting from them (for training). */
function tfjsModelFor(problem: TestProblem, params?: ArrayLike<number>): ReturnType<typeof createTfjsPoglm> {
  return createTfjsPoglm(tf, {
    layout: problem.layout,
    basis: problem.model.basis,
    method: problem.method,
    sequences: problem.sequences,
    samples: problem.noise[0].length,
    ...(params ? { params } : {}),
  });
}

async function runTfjs(problem: TestProblem): Promise<TfjsElboResult> {
  const model = tfjsModelFor(problem);
  try {
    return await model.elboAndGradient(problem.params, flatNoise(problem));
  } finally {
    model.dispose();
  }
}

/** Largest absolute difference of the sample weights w[s][m]. */
function weightError(actual: ArrayLike<number>, expected: number[][]): number {
  return expected.flat().reduce((worst, value, index) => Math.max(worst, Math.abs(actual[index] - value)), 0);
}

interface Agreement {
  elbo: number;
  weights: number;
  gradient: number;
}

function agreement(actual: { elbo: number; weights: ArrayLike<number>; gradient: ArrayLike<number> }, expected: ElboResult): Agreement {
  return {
    elbo: Math.abs(actual.elbo - expected.elbo) / Math.abs(expected.elbo),
    weights: weightError(actual.weights, expected.weights),
    gradient: relativeError(actual.gradient, expected.gradient),
  };
}

// Measured over the 21 cases (T = 20, 3 sequences x 3 samples, ELBO ~ -100 to -300; f32 against float64, or two
// f32 implementations against each other): ELBO <= 2e-7 relative, weights w[s][m] <= 1.5e-4 absolute (~1e-6
// relative), gradient vector <= 2e-6 relative (score methods are the loosest: w_m multiplies grad ln q). The bounds
// below leave 7-50x margin and hold for every comparison in this file.
const F32_BOUNDS: Agreement = { elbo: 1e-5, weights: 1e-3, gradient: 1e-4 };

function expectAgreement(result: Agreement, bounds: Agreement = F32_BOUNDS): void {
  expect(result.elbo).toBeLessThan(bounds.elbo);
  expect(result.weights).toBeLessThan(bounds.weights);
  expect(result.gradient).toBeLessThan(bounds.gradient);
}

const report: string[] = [];
afterAll(() => {
  if (report.length > 0) console.log(`tfjs equivalence (relative ELBO, absolute weights, relative gradient):\n${report.join('\n')}`);
});
const format = (label: string, a: Agreement) =>
  `${label.padEnd(34)} elbo ${a.elbo.toExponential(1)}  w ${a.weights.toExponential(1)}  grad ${a.gradient.toExponential(1)}`;

describe('tfjs (cpu backend) matches the float64 reference', () => {
  beforeAll(async () => {
    await useCpuBackend(tf);
  });

  it.each(cases)('$scheme $method', async ({ scheme, method }) => {
    const problem = problemFor(scheme, method);
    const expected = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    const before = tf.memory().numTensors;
    const actual = await runTfjs(problem);
    expect(tf.memory().numTensors).toBe(before);
    const result = agreement(actual, expected);
    report.push(format(`cpu vs reference ${scheme} ${method}`, result));
    expectAgreement(result);
  });

  it('training steps apply Adam (lr 0.05 theta, 0.1 phi, eps 1e-8) to the ascent direction and do not leak', async () => {
    const problem = problemFor('FB', 'exponential');
    const noise = flatNoise(problem);
    const model = tfjsModelFor(problem, problem.params);
    try {
      // Adam's first step moves every parameter by lr * sign(gradient) (up to eps), uphill on the ELBO.
      const { gradient, elbo } = await model.elboAndGradient(problem.params, noise);
      const stepElbo = await model.trainingStep({ noise });
      expect(Math.abs(stepElbo! - elbo)).toBeLessThan(1e-4);
      const after = await model.getParams();
      for (let i = 0; i < problem.layout.total; i++) {
        const rate = i < problem.layout.generativeCount ? 0.05 : 0.1;
        const g = gradient[i];
        const expectedMove = (rate * g) / (Math.abs(g) + 1e-8);
        expect(after[i] - problem.params[i]).toBeCloseTo(expectedMove, 4);
      }
      // Minibatches, tfjs-drawn noise, and no tensor left behind across steps.
      await model.trainingStep({ batch: [2, 0] });
      const tensors = tf.memory().numTensors;
      for (let step = 0; step < 3; step++) await model.trainingStep({ batch: [1], read: step !== 1 });
      expect(tf.memory().numTensors).toBe(tensors);
      // Restarting from the initial parameters restarts Adam: the first step is reproduced.
      model.setParams(problem.params);
      await model.trainingStep({ noise });
      const again = await model.getParams();
      again.forEach((value, i) => expect(value).toBeCloseTo(after[i], 6));
    } finally {
      model.dispose();
    }
  });
});

describe('tfjs (webgpu backend on Dawn) and the WGSL engine', () => {
  const gpu = useGpuSession();
  let webgpu: WebgpuBackendHandle | undefined;

  beforeAll(async () => {
    // tfjs shares the engine's device, as the benchmark does.
    webgpu = await registerWebgpuBackend(tf, gpu().context.device);
    await useCpuBackend(tf);
  });
  afterAll(async () => {
    await webgpu?.release();
  });

  it.each(cases)('tfjs webgpu matches the reference and the WGSL engine: $scheme $method', async ({ scheme, method }) => {
    const problem = problemFor(scheme, method);
    const expected = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    expect(await tf.setBackend(webgpu!.name)).toBe(true);
    expect(tf.getBackend()).toBe(webgpu!.name);
    let actual: TfjsElboResult;
    try {
      const before = tf.memory().numTensors;
      actual = await runTfjs(problem);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await useCpuBackend(tf);
    }
    const result = agreement(actual, expected);
    report.push(format(`webgpu vs reference ${scheme} ${method}`, result));
    expectAgreement(result);
    const engine = await gradientOnDevice(gpu(), problem);
    expect(engine.weights.flat()).toHaveLength(actual.weights.length);
    const versus = {
      elbo: Math.abs(engine.elbo - actual.elbo) / Math.abs(actual.elbo),
      weights: Math.max(...engine.weights.flat().map((w, i) => Math.abs(w - actual.weights[i]))),
      gradient: relativeError(engine.gradient, actual.gradient),
    };
    report.push(format(`WGSL vs tfjs-webgpu ${scheme} ${method}`, versus));
    expectAgreement(versus);
  });

  it.each([
    { scheme: 'FS' as Scheme, method: 'gs-pathwise' as Method },
    { scheme: 'FB' as Scheme, method: 'poisson' as Method },
  ])('tfjs training steps agree between the webgpu and cpu backends: $scheme $method', async ({ scheme, method }) => {
    const problem = problemFor(scheme, method);
    const noise = flatNoise(problem);
    const train = async (backend: string) => {
      expect(await tf.setBackend(backend)).toBe(true);
      expect(tf.getBackend()).toBe(backend);
      const model = tfjsModelFor(problem, problem.params);
      try {
        const elbos = [await model.trainingStep({ noise }), await model.trainingStep({ noise })];
        const tensors = tf.memory().numTensors;
        await model.trainingStep({ batch: [1, 2] });
        expect(tf.memory().numTensors).toBe(tensors);
        model.setParams(problem.params);
        await model.trainingStep({ noise });
        await model.trainingStep({ noise });
        return { elbos, params: await model.getParams() };
      } finally {
        model.dispose();
        await useCpuBackend(tf);
      }
    };
    const onGpu = await train(webgpu!.name);
    const onCpu = await train('cpu');
    expect(onGpu.params).toHaveLength(onCpu.params.length);
    onGpu.elbos.forEach((elbo, step) => expect(Math.abs(elbo! - onCpu.elbos[step]!)).toBeLessThan(1e-5 * Math.abs(onCpu.elbos[step]!)));
    const drift = onGpu.params.reduce((worst, value, i) => Math.max(worst, Math.abs(value - onCpu.params[i])), 0);
    report.push(`${`webgpu vs cpu 2 Adam steps ${scheme} ${method}`.padEnd(34)} params ${drift.toExponential(1)}`);
    expect(drift).toBeLessThan(1e-5);
  });

  it.each(cases)('WGSL engine matches tfjs (cpu): $scheme $method', async ({ scheme, method }) => {
    const problem = problemFor(scheme, method);
    const [engine, tfjs] = await Promise.all([
      gradientOnDevice(gpu(), problem),
      runTfjs(problem),
    ]);
    expect(engine.weights.flat()).toHaveLength(tfjs.weights.length);
    const versus = {
      elbo: Math.abs(engine.elbo - tfjs.elbo) / Math.abs(tfjs.elbo),
      weights: Math.max(...engine.weights.flat().map((w, i) => Math.abs(w - tfjs.weights[i]))),
      gradient: relativeError(engine.gradient, tfjs.gradient),
    };
    report.push(format(`WGSL vs tfjs-cpu ${scheme} ${method}`, versus));
    expectAgreement(versus);
  });
});
