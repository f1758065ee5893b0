// Evaluation: the marginal log-likelihood logsumexp(w) - ln M and the ELBO mean(w), both models switched to Poisson,
// against the float64 twin drawing the same Philox noise; chunking over samples; ground-truth metrics and the
// matching of hidden neurons.
import { describe, expect, it } from 'vitest';
import { evaluate, evaluateMany } from '../src/api/evaluate.js';
import { uploadDataset } from '../src/engine/dataset.js';
import { evaluateGroup, evaluationSpec, POISSON } from '../src/engine/evaluation.js';
import { planEvaluation } from '../src/engine/sizing.js';
import { workspaceBytes } from '../src/engine/workspace.js';
import { buildModel } from '../src/model/json.js';
import { parameterErrors, permuteHidden } from '../src/model/metrics.js';
import { logSumExpArray } from '../src/model/math.js';
import { SCHEMES } from '../src/model/types.js';
import { logJoint, logQOfSamples, traceSample } from '../src/reference/model.js';
import { baseNoiseArray } from '../src/reference/noise.js';
import { NoisePurpose } from '../src/model/philox.js';
import { useGpuSession } from './helpers/gpu.js';
import { makeProblem } from './helpers/problems.js';

const gpu = useGpuSession();

describe('marginal likelihood and ELBO on the GPU', () => {
  it.each(SCHEMES)('%s: equal the float64 twin with the same noise, in one chunk or many', async (scheme) => {
    const problem = makeProblem(scheme, 'exponential', { bins: 30, sequences: 3 });
    const samples = 48;
    const model = { ...problem.model, method: POISSON };
    const seed = 4;
    const noise = baseNoiseArray(POISSON, { seed, purpose: NoisePurpose.evaluate, step: 0, sequences: 3, samples, bins: 30, hidden: 2 });
    const expected = problem.sequences.map((x, s) => {
      const weights = noise[s].map((sampleNoise) => traceSample(model, problem.params, x, sampleNoise).weight);
      return { marginal: logSumExpArray(weights) - Math.log(samples), elbo: weights.reduce((a, b) => a + b, 0) / samples };
    });
    const dataset = await uploadDataset(gpu(), [problem.sequences], problem.model.basis);
    try {
      const spec = { layout: problem.layout, basis: problem.model.basis, members: [{ params: problem.params, seed, firstRow: 0 }], sequences: 3, samples };
      const whole = await evaluateGroup(gpu(), dataset, spec);
      // Evaluation keeps one weight per sample in the workspace: 2.8 kB is room for a dozen or so samples per chunk.
      const chunked = await evaluateGroup(gpu(), dataset, { ...spec, maxChunkBytes: 2_800 });
      // The data held in host memory, each chunk's rows written to the device before it runs: the same weights.
      const hostData = await uploadDataset(gpu(), [problem.sequences], problem.model.basis, 'test', {}, { placement: 'host' });
      const fromHost = await evaluateGroup(gpu(), hostData, { ...spec, maxChunkBytes: 2_800 }).finally(() => hostData.release());
      expect(hostData.onHost).toBe(true);
      expect(fromHost.marginalLogLikelihood).toEqual(chunked.marginalLogLikelihood);
      expect(fromHost.elbo).toEqual(chunked.elbo);
      expect(whole.chunks).toBe(1);
      expect(chunked.chunks).toBeGreaterThan(2);
      // f32 weights of O(100) folded into a running log-sum-exp: 1e-5 relative (measured ~1e-7).
      expected.forEach(({ marginal, elbo }, s) => {
        for (const outcome of [whole, chunked]) {
          expect(Math.abs(outcome.marginalLogLikelihood[0][s] - marginal)).toBeLessThan(1e-5 * Math.abs(marginal));
          expect(Math.abs(outcome.elbo[0][s] - elbo)).toBeLessThan(1e-5 * Math.abs(elbo));
        }
        expect(marginal).toBeGreaterThan(elbo);
      });
    } finally {
      dataset.release();
    }
  });
});

describe('many models', () => {
  it('splits a group into jobs that fit the buffer limit, with the same metrics as one job', async () => {
    const problem = makeProblem('FB', 'exponential', { bins: 30, sequences: 3 });
    const models = [0, 0.3, -0.3].map((shift) =>
      buildModel({ layout: problem.layout, params: problem.params.map((p, i) => (i % 7 === 0 ? p + shift : p)), method: problem.method, basis: problem.model.basis }),
    );
    const items = models.map((model) => ({ model, test: problem.sequences }));
    const together = await evaluateMany(items, { session: gpu(), samples: 40, seed: 2 });
    const oneSample = workspaceBytes(
      { layout: problem.layout, basis: problem.model.basis, method: POISSON, models: 1, slots: 3, samples: 40, stepsPerEpoch: 1, noise: 'philox', mode: 'evaluate', purpose: NoisePurpose.evaluate },
      30,
    );
    // Room for one model and a full chunk of samples per job: three jobs.
    expect(planEvaluation(evaluationSpec(problem.layout, problem.model.basis, 3), 30, 3, 40, oneSample + 100, false)).toMatchObject({ modelsPerJob: 1, chunks: 1 });
    const apart = await evaluateMany(items, { session: gpu(), samples: 40, seed: 2, maxJobBytes: oneSample + 100 });
    expect(apart).toHaveLength(3);
    apart.forEach((metrics, i) => {
      expect(metrics.testMarginalLogLikelihood).toBeCloseTo(together[i].testMarginalLogLikelihood, 4);
      expect(metrics.testElbo).toBeCloseTo(together[i].testElbo, 4);
    });
    expect(new Set(together.map((metrics) => metrics.testElbo.toFixed(4))).size).toBe(3);
  });

  it('checks the ground truth before any GPU work, naming the field', async () => {
    const problem = makeProblem('F', 'exponential', { bins: 30, sequences: 3 });
    const model = buildModel({ layout: problem.layout, params: problem.params, method: problem.method, basis: problem.model.basis });
    const truth = { weight: [[0]], bias: [0, 0, 0, 0, 0] };
    await expect(evaluate(model, problem.sequences, { session: gpu(), truth })).rejects.toThrow(/truth\.weight has 1 rows but the model has 5 neurons/);
    const testHidden = problem.sequences.slice(1).map((x) => x.map(() => [0, 0]));
    await expect(evaluate(model, problem.sequences, { session: gpu(), testHidden })).rejects.toThrow(/testHidden has 2 sequences but test has 3/);
  });
});

describe('ground-truth metrics', () => {
  it('predicted complete and hidden log-likelihoods equal the reference for the true hidden spikes', async () => {
    const problem = makeProblem('FS', 'gs-pathwise', { bins: 30, sequences: 2 });
    const model = buildModel({ layout: problem.layout, params: problem.params, method: problem.method, basis: problem.model.basis });
    const poisson = { ...problem.model, method: POISSON };
    const trueHidden = problem.sequences.map((x) => x.map((bin) => [bin[0] % 2, (bin[1] + bin[2]) % 3]));
    const truth = { weight: model.generative.weight.map((row) => row.map((w) => w + 0.25)), bias: model.generative.bias.map((b) => b - 0.5) };
    const metrics = await evaluate(model, problem.sequences, { session: gpu(), samples: 16, testHidden: trueHidden, truth });
    const samplesOf = (z: number[][]) => z.map((bin) => bin.map((count) => [count]));
    const complete = problem.sequences.map((x, s) => logJoint(poisson, problem.params, x, samplesOf(trueHidden[s])).value);
    const hidden = problem.sequences.map((x, s) => logQOfSamples(poisson, problem.params, x, samplesOf(trueHidden[s])));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(metrics.predictedCompleteLogLikelihood!).toBeCloseTo(mean(complete), 3);
    expect(metrics.hiddenLogLikelihood!).toBeCloseTo(mean(hidden), 3);
    expect(metrics.weightError!).toBeCloseTo(0.25, 6);
    expect(metrics.biasError!).toBeCloseTo(0.5, 6);
  });

  it('matches hidden neurons by the permutation with the smallest weight error', () => {
    const truth = {
      weight: [
        [0.1, 0.2, 1.0, -1.0, 0.5],
        [0.3, 0.0, 2.0, 0.0, 0.0],
        [0.0, 0.1, 0.0, -2.0, 1.5],
        [1.0, 0.0, 0.7, 0.2, -0.3],
        [-1.0, 0.5, 0.0, 0.9, 0.4],
      ],
      bias: [0.1, 0.2, 0.3, 0.4, -0.5],
    };
    // The learned model is the truth with hidden neurons 0, 1, 2 (global 2, 3, 4) relabelled as 2, 0, 1.
    const learned = permuteHidden(truth, 2, [1, 2, 0]);
    const errors = parameterErrors(learned, truth, 2);
    expect(errors.weightError).toBe(0);
    expect(errors.biasError).toBe(0);
    expect(errors.exhaustive).toBe(true);
    expect(permuteHidden(learned, 2, errors.hiddenOrder)).toEqual(truth);
    expect(() => parameterErrors({ weight: [[0]], bias: [0] }, truth, 2)).toThrow(/the model has 1 neurons but the ground truth has 5/);
  });
});
