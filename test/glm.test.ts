// The fully observed GLM (hidden 0): the float64 twin's gradient against finite differences; the GPU's ln p, gradient,
// Adam step and fits against the twin; recovery of W and b from GLM-simulated data; the bits-per-spike metrics and the
// homogeneous baseline in closed form; the model JSON; and the API's refusals, interrupts and non-finite stops.
import { describe, expect, it } from 'vitest';
import { evaluateGlm, fitGlm, fitGlmMany, glmLogLikelihood } from '../src/api/glm.js';
import { NonFiniteError } from '../src/api/fit-jobs.js';
import { uploadDataset } from '../src/engine/dataset.js';
import { glmGradientOnDevice, glmLogLikelihoodOnDevice, trainGlmGroup } from '../src/engine/glm.js';
import { PAPER_ADAM } from '../src/model/adam.js';
import { exponentialBasis } from '../src/model/basis.js';
import { flattenModel, parseModel, type PoglmModelJson } from '../src/model/json.js';
import { bitsPerSpike, bitsPerSpikeOver, countSpikes, homogeneousBaseline, homogeneousLogLikelihood, homogeneousRates } from '../src/model/metrics.js';
import { PhiloxStream } from '../src/model/philox.js';
import { glmGradientReference, glmLogLikelihoodReference, glmTrainingReference } from '../src/reference/glm.js';
import { philoxUniforms, simulateReference } from '../src/reference/simulate.js';
import { logFactorial, sigmoid } from '../src/reference/special.js';
import { ReferenceAdam } from '../src/reference/training.js';
import { useGpuSession } from './helpers/gpu.js';
import { centralDifferences, relativeError } from './helpers/problems.js';

const gpu = useGpuSession();
const basis = exponentialBasis(5);

/** A model JSON of given generative parameters (hidden 0 unless the weights say otherwise). */
function modelOf(weight: number[][], bias: number[], visible = bias.length): PoglmModelJson {
  return { format: 'poglm-gpu.model', version: 1, visible, hidden: bias.length - visible, method: 'poisson', basis, generative: { weight, bias } };
}

/** Counts 0..3 (so that ln x! matters) and parameters of both signs, from a seeded stream. */
function randomProblem(visible: number, bins: number, sequences: number, seed: number): { data: number[][][]; params: Float64Array } {
  const stream = new PhiloxStream(seed, 9);
  const data = Array.from({ length: sequences }, () =>
    Array.from({ length: bins }, () => Array.from({ length: visible }, () => Math.floor(stream.nextUniform() ** 2 * 4))),
  );
  const params = Float64Array.from({ length: visible * visible + visible }, () => 2 * stream.nextUniform() - 1);
  return { data, params };
}

// A 3-neuron GLM with self-inhibition and excitatory and inhibitory couplings, rates 0.14-0.19 spikes per bin.
const TRUE_WEIGHT = [
  [-2, 1.5, 0],
  [0, -1, -2],
  [2, 0, -1.5],
];
const TRUE_BIAS = [-1.5, -1.0, -2.0];
const TRUE_PARAMS = [...TRUE_WEIGHT.flat(), ...TRUE_BIAS];
const simulated = simulateReference(TRUE_WEIGHT, TRUE_BIAS, basis, 100, 240, philoxUniforms(11, 1));
const simulatedTrain = simulated.slice(0, 200);
const simulatedTest = simulated.slice(200);

describe('the float64 twin', () => {
  it('is ln p of docs/gradients.md with H = 0, written out by hand', () => {
    const x = [
      [1, 0],
      [0, 2],
      [1, 1],
      [0, 0],
    ];
    const psi = [0.7, 0.3];
    const params = [0.5, -1, 2, 0.25, -1.5, -0.5];
    let expected = 0;
    for (let t = 0; t < x.length; t++) {
      const cx = [0, 1].map((m) => (t >= 1 ? psi[0] * x[t - 1][m] : 0) + (t >= 2 ? psi[1] * x[t - 2][m] : 0));
      for (let n = 0; n < 2; n++) {
        const rate = sigmoid(params[4 + n] + params[2 * n] * cx[0] + params[2 * n + 1] * cx[1]);
        expected += x[t][n] * Math.log(rate + 1e-8) - rate - logFactorial(x[t][n]);
      }
    }
    expect(glmLogLikelihoodReference(params, [x], psi)[0]).toBeCloseTo(expected, 12);
  });

  it('has the gradient of its ln p (central finite differences)', () => {
    const { data, params } = randomProblem(4, 30, 3, 1);
    const analytic = glmGradientReference(params, data, basis);
    const numeric = centralDifferences((p) => glmGradientReference(p, data, basis).logLikelihood, params);
    // Step 1e-5 on an O(100) mean ln p: truncation and rounding near 1e-9 relative.
    expect(relativeError(analytic.gradient, numeric)).toBeLessThan(1e-7);
    const perSequence = glmLogLikelihoodReference(params, data, basis);
    expect(analytic.logLikelihood).toBeCloseTo(perSequence.reduce((a, b) => a + b, 0) / data.length, 9);
  });
});

describe('the GPU GLM against the float64 twin', () => {
  it('gives ln p of every sequence and the gradient to 1e-5 relative (f32 lands near 2e-7)', async () => {
    const { data, params } = randomProblem(5, 60, 4, 2);
    const model = modelOf([0, 1, 2, 3, 4].map((n) => Array.from(params.subarray(n * 5, n * 5 + 5))), Array.from(params.subarray(25)));
    const actual = await glmLogLikelihood(model, data, { session: gpu() });
    const expected = glmLogLikelihoodReference(params, data, basis);
    actual.forEach((value, s) => expect(Math.abs(value - expected[s])).toBeLessThan(1e-5 * Math.abs(expected[s])));
    const dataset = await uploadDataset(gpu(), [data], basis, 'data', {}, { antiCausal: false });
    try {
      const reference = glmGradientReference(params, data, basis);
      const whole = await glmGradientOnDevice(gpu(), dataset, { params, basis });
      expect(Math.abs(whole.logLikelihood - reference.logLikelihood)).toBeLessThan(1e-5 * Math.abs(reference.logLikelihood));
      expect(relativeError(whole.gradient, reference.gradient)).toBeLessThan(1e-5);
      // A minibatch in chunks of 3 (the last one short) sums to the same mean.
      const chunked = await glmGradientOnDevice(gpu(), dataset, { params, basis, chunkSlots: 3 });
      expect(relativeError(chunked.gradient, reference.gradient)).toBeLessThan(1e-5);
      expect(Math.abs(chunked.logLikelihood - reference.logLikelihood)).toBeLessThan(1e-5 * Math.abs(reference.logLikelihood));
    } finally {
      dataset.release();
    }
  });

  it('takes the Adam step of the twin (PyTorch semantics, lr 0.05) in 5 dispatches', async () => {
    const { data, params } = randomProblem(4, 40, 3, 3);
    const dataset = await uploadDataset(gpu(), [data], basis, 'data', {}, { antiCausal: false });
    try {
      const outcome = await trainGlmGroup(gpu(), dataset, {
        visible: 4,
        basis,
        members: [{ seed: 0, firstRow: 0, sequences: 3, init: params }],
        batchSize: 3,
        epochs: 1,
      });
      const expected = Float64Array.from(params);
      new ReferenceAdam(PAPER_ADAM, params.length, params.length).update(expected, glmGradientReference(params, data, basis).gradient);
      const [member] = outcome.members;
      // Measured: 3.0e-6 on every parameter, 6e-5 of the step. adam.wgsl's bias correction 1 - pow(0.999, t) in f32
      // loses that much to cancellation (an ulp of the pow is 6e-5 of 0.001), where the moment uses 1 - 0.999
      // exactly; the POGLM's Adam is the same kernel.
      member.params.forEach((value, i) => expect(Math.abs(value - expected[i])).toBeLessThan(1e-5));
      // Adam's first step moves every parameter by about lr.
      member.params.forEach((value, i) => expect(Math.abs(value - params[i])).toBeGreaterThan(0.04));
      expect(outcome.steps).toBe(1);
      expect(outcome.dispatchesPerStep).toBe(5);
    } finally {
      dataset.release();
    }
  });

  it('fits as the float64 fit does: same minibatches, gradient and Adam (3 epochs of 3 steps, the last batch short)', async () => {
    const train = simulatedTrain.slice(0, 7);
    const result = await fitGlm(train, { epochs: 3, batchSize: 3, seed: 7 }, { session: gpu() });
    const expected = glmTrainingReference(new Float64Array(12), train, { basis, seed: 7, epochs: 3, batchSize: 3 });
    expect(result.steps).toBe(9);
    // Measured: 1.6e-5 after 9 steps.
    flattenModel(result.model).params.forEach((value, i) => expect(Math.abs(value - expected.params[i])).toBeLessThan(1e-4));
    expect(result.elboHistory).toHaveLength(3);
    result.elboHistory.forEach((value, epoch) => expect(Math.abs(value - expected.elboHistory[epoch])).toBeLessThan(1e-5 * Math.abs(expected.elboHistory[epoch])));
  });

  it('gives each fit of a batch what it gets alone, bit for bit', async () => {
    const other = simulatedTrain.slice(100, 140);
    const train = simulatedTrain.slice(0, 40);
    const jobs = [
      { train, seed: 1, epochs: 2 },
      { train: other, seed: 1, epochs: 2 },
      { train, seed: 2, epochs: 2 },
      { train, seed: 1, epochs: 2, learningRate: 0.01 },
    ];
    const together = await fitGlmMany(jobs, { session: gpu() });
    for (const [index, job] of jobs.entries()) {
      const alone = await fitGlm(job.train, job, { session: gpu() });
      expect(together[index].model.generative).toEqual(alone.model.generative);
      expect(together[index].elboHistory).toEqual(alone.elboHistory);
    }
    // The seed orders the minibatches: another seed ends elsewhere.
    expect(together[2].model.generative).not.toEqual(together[0].model.generative);
  });
});

describe('GLM jobs split to fit the device', () => {
  it('gives the same fits when a group is split into jobs, or each minibatch into chunks of sequences', async () => {
    const train = simulatedTrain.slice(0, 40);
    const jobs = Array.from({ length: 15 }, (_, seed) => ({ train, seed, epochs: 2 }));
    const whole = await fitGlmMany(jobs, { session: gpu() });
    // About 16 kB of workspace per fit: 12 fits per job under 200 kB, so two jobs.
    const split = await fitGlmMany(jobs, { session: gpu(), maxJobBytes: 200_000 });
    split.forEach((result, index) => expect(result.model.generative).toEqual(whole[index].model.generative));
    // Chunks of 3 of each minibatch of 10 sum the gradient in another order: equal to f32 rounding.
    const dataset = await uploadDataset(gpu(), [train], basis, 'train', {}, { antiCausal: false });
    try {
      const spec = { visible: 3, basis, members: [{ seed: 4, firstRow: 0, sequences: 40 }], batchSize: 10, epochs: 2 };
      const [chunked] = (await trainGlmGroup(gpu(), dataset, { ...spec, chunkSlots: 3 })).members;
      flattenModel(whole[4].model).params.forEach((value, i) => expect(Math.abs(chunked.params[i] - value)).toBeLessThan(1e-5));
    } finally {
      dataset.release();
    }
  });

  it('scores sequences in blocks and uploads, each sequence as it scores alone', async () => {
    const model = modelOf(TRUE_WEIGHT, TRUE_BIAS);
    const whole = await glmLogLikelihood(model, simulatedTest, { session: gpu() });
    // 10 kB per buffer: 5 sequences of 100 bins per upload, so 8 uploads.
    expect(await glmLogLikelihood(model, simulatedTest, { session: gpu(), maxJobBytes: 10_000 })).toEqual(whole);
    const dataset = await uploadDataset(gpu(), [simulatedTest], basis, 'test', {}, { antiCausal: false });
    try {
      // Two models in blocks of 4 sequences (2,000 bytes of workspace).
      const members = [TRUE_PARAMS, new Array<number>(12).fill(0.1)].map((params) => ({ params, firstRow: 0 }));
      const blocks = await glmLogLikelihoodOnDevice(gpu(), dataset, { members, basis, sequences: 40, maxBytes: 2000 });
      expect(Array.from(blocks[0])).toEqual(whole);
      const expected = glmLogLikelihoodReference(members[1].params, simulatedTest, basis);
      blocks[1].forEach((value, s) => expect(Math.abs(value - expected[s])).toBeLessThan(1e-5 * Math.abs(expected[s])));
    } finally {
      dataset.release();
    }
  });
});

describe('a GLM fit on GLM-simulated data', () => {
  it('recovers W and b (200 sequences x 100 bins, the default 20 epochs) and equals the float64 fit', async () => {
    const result = await fitGlm(simulatedTrain, { seed: 1 }, { session: gpu() });
    expect(result.steps).toBe(400);
    const { weight, bias } = result.model.generative;
    const weightErrors = weight.flat().map((value, i) => Math.abs(value - TRUE_WEIGHT.flat()[i]));
    const biasErrors = bias.map((value, n) => Math.abs(value - TRUE_BIAS[n]));
    // Measured: mean |dW| 0.12, max 0.29 (W[1][0], whose float64 maximum-likelihood estimate is itself 0.28: the
    // sampling error of 20,000 bins at ~0.18 spikes per bin, not the optimiser's); max |db| 0.07.
    expect(weightErrors.reduce((a, b) => a + b, 0) / 9).toBeLessThan(0.2);
    expect(Math.max(...weightErrors)).toBeLessThan(0.45);
    expect(Math.max(...biasErrors)).toBeLessThan(0.15);
    expect(result.elboHistory.at(-1)!).toBeGreaterThan(result.elboHistory[0]);
    // 400 f32 steps against float64 (measured 1.3e-6).
    const expected = glmTrainingReference(new Float64Array(12), simulatedTrain, { basis, seed: 1, epochs: 20, batchSize: 10 });
    flattenModel(result.model).params.forEach((value, i) => expect(Math.abs(value - expected.params[i])).toBeLessThan(1e-4));
    // And the fit carries information over the homogeneous baseline, close to what the true model carries.
    const baseline = homogeneousBaseline(simulatedTrain, simulatedTest);
    const fitted = bitsPerSpikeOver(await glmLogLikelihood(result.model, simulatedTest, { session: gpu() }), baseline);
    const truth = bitsPerSpikeOver(glmLogLikelihoodReference(TRUE_PARAMS, simulatedTest, basis), baseline);
    expect(fitted).toBeGreaterThan(0);
    expect(Math.abs(fitted - truth)).toBeLessThan(0.01);
  });
});

describe('bits per spike and the homogeneous baseline', () => {
  it('bitsPerSpike is (LL - LL_baseline) / (spikes ln 2)', () => {
    expect(bitsPerSpike(-100, -110, 20)).toBeCloseTo(10 / (20 * Math.LN2), 12);
    expect(bitsPerSpike(-110, -100, 20)).toBeCloseTo(-0.7213475204444817, 12);
    expect(() => bitsPerSpike(-1, -2, 0)).toThrow(/positive number of spikes/);
  });

  it('the rate is the mean count, capped at one spike per bin, and the test ln p is Poisson with it', () => {
    const train = [
      [
        [0, 2, 0],
        [1, 1, 0],
      ],
      [
        [1, 2, 0],
        [0, 1, 0],
      ],
    ];
    const rates = homogeneousRates(train);
    expect(rates[0]).toBeCloseTo(0.5, 7);
    // A mean of 1.5 spikes per bin is beyond sigma's reach: the bias-only GLM's supremum is at rate 1.
    expect(rates[1]).toBe(1);
    expect(rates[2]).toBe(0);
    const test = [[[1, 3, 0]], [[0, 0, 0]]];
    const [first, second] = homogeneousLogLikelihood(rates, test);
    expect(first).toBeCloseTo(Math.log(0.5) - 0.5 + 3 * Math.log(1 + 1e-8) - 1 - Math.log(6), 6);
    expect(second).toBeCloseTo(-0.5 - 1, 6);
    expect(countSpikes(test)).toBe(4);
  });

  it('is the bias-only GLM at its maximum likelihood (the closed form against the float64 GLM)', () => {
    const rates = homogeneousRates(simulatedTrain);
    const params = [...new Array<number>(9).fill(0), ...rates.map((rate) => Math.log(rate / (1 - rate)))];
    const { gradient } = glmGradientReference(params, simulatedTrain, basis);
    // The bias gradient vanishes there (per sequence: 100 bins of counts near 0.18)...
    for (let n = 0; n < 3; n++) expect(Math.abs(gradient[9 + n])).toBeLessThan(1e-6);
    // ...its ln p is the baseline's, and moving any bias lowers it.
    const logLikelihood = (p: number[]): number => glmLogLikelihoodReference(p, simulatedTrain, basis).reduce((a, b) => a + b, 0);
    const atOptimum = logLikelihood(params);
    expect(atOptimum).toBeCloseTo(homogeneousLogLikelihood(rates, simulatedTrain).reduce((a, b) => a + b, 0), 6);
    for (let n = 0; n < 3; n++) {
      for (const step of [-0.01, 0.01]) {
        const moved = [...params];
        moved[9 + n] += step;
        expect(logLikelihood(moved)).toBeLessThan(atOptimum);
      }
    }
  });

  it('the true GLM carries 0.079 bits per spike over it on its test data, on the GPU as in float64', async () => {
    const baseline = homogeneousBaseline(simulatedTrain, simulatedTest);
    expect(baseline.spikes).toBe(2073);
    const reference = bitsPerSpikeOver(glmLogLikelihoodReference(TRUE_PARAMS, simulatedTest, basis), baseline);
    const onDevice = bitsPerSpikeOver(await glmLogLikelihood(modelOf(TRUE_WEIGHT, TRUE_BIAS), simulatedTest, { session: gpu() }), baseline);
    expect(reference).toBeCloseTo(0.0791, 4);
    // A difference of 114 nats between two totals near -5,800: f32's few 1e-7 relative in each sequence's ln p can be
    // 2e-5 of the result; measured 2.3e-6.
    expect(Math.abs(onDevice - reference)).toBeLessThan(2e-4 * reference);
  });
});

describe('the GLM model and API', () => {
  it('writes a hidden-0 model without a variational part that parseModel reads back, and evaluates it exactly', async () => {
    const train = simulatedTrain.slice(0, 20);
    const result = await fitGlm(train, { epochs: 2, seed: 3 }, { session: gpu() });
    expect(result.model.hidden).toBe(0);
    expect(result.model.variational).toBeUndefined();
    expect(result.model.training).toMatchObject({ epochs: 2, epochsCompleted: 2, steps: 4, batchSize: 10, samples: 0, seed: 3, learningRateGenerative: 0.05 });
    const parsed = parseModel(JSON.parse(JSON.stringify(result.model)));
    expect(parsed).toEqual(result.model);
    const metrics = await evaluateGlm(parsed, simulatedTest, { session: gpu(), truth: { weight: TRUE_WEIGHT, bias: TRUE_BIAS } });
    const perSequence = await glmLogLikelihood(parsed, simulatedTest, { session: gpu() });
    const mean = perSequence.reduce((a, b) => a + b, 0) / perSequence.length;
    expect(metrics).toMatchObject({ testMarginalLogLikelihood: mean, testElbo: mean, sequences: 40, samples: 0 });
    expect(metrics.weightError).toBeGreaterThan(0);
    expect(metrics.biasError).toBeGreaterThan(0);
  });

  it('refuses bad settings and a POGLM before any GPU work', async () => {
    const train = simulatedTrain.slice(0, 5);
    await expect(fitGlm(train, { epochs: 0 }, { session: gpu() })).rejects.toThrow(/epochs must be a positive integer/);
    await expect(fitGlm(train, { learningRate: -1 }, { session: gpu() })).rejects.toThrow(/learningRate must be a positive number/);
    await expect(fitGlm(train, { basis: new Array(100).fill(0.01) }, { session: gpu() })).rejects.toThrow(/basis has 100 lags/);
    const poglm = modelOf([0, 1, 2, 3].map(() => [0, 0, 0, 0]), [0, 0, 0, 0], 3);
    await expect(glmLogLikelihood(poglm, train, { session: gpu() })).rejects.toThrow(/1 hidden neurons/);
  });

  it('stops between submissions when aborted, keeping what was learned', async () => {
    const controller = new AbortController();
    const result = await fitGlm(simulatedTrain.slice(0, 40), { epochs: 5, seed: 1 }, {
      session: gpu(),
      stepsPerSubmit: 1,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.epoch === 1) controller.abort();
      },
    });
    expect(result.interrupted).toBe(true);
    expect(result.epochsCompleted).toBe(1);
    expect(result.model.training?.stoppedEarly?.reason).toBe('interrupted');
    expect(result.model.generative.bias.every(Number.isFinite)).toBe(true);
  });

  it('stops at a non-finite step with the last finite parameters (an update that overflows f32)', async () => {
    const settings = { epochs: 1, batchSize: 2, learningRate: 3e38 };
    const error = await fitGlm(simulatedTrain.slice(0, 6), settings, { session: gpu() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NonFiniteError);
    const { result } = error as NonFiniteError;
    expect(result.failure?.step).toBe(1);
    expect([...result.model.generative.weight.flat(), ...result.model.generative.bias].every(Number.isFinite)).toBe(true);
  });
});
