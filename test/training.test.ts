// Training on the GPU: step for step equal to the float64 twin (schedule, noise, gradient, Adam); a fit inside a
// batch equal to the same fit alone; a fixed number of dispatches per step; non-finite steps and interrupts that keep
// what was learned; and clear errors for bad settings.
import { describe, expect, it } from 'vitest';
import { fit, fitMany, NonFiniteError } from '../src/api/fit.js';
import { uploadDataset } from '../src/engine/dataset.js';
import { PAPER_ADAM } from '../src/model/adam.js';
import { trainGroup } from '../src/engine/training.js';
import { workspaceBytes } from '../src/engine/workspace.js';
import { exponentialBasis } from '../src/model/basis.js';
import { buildModel } from '../src/model/json.js';
import type { Method, Scheme } from '../src/model/types.js';
import { referenceTraining } from '../src/reference/training.js';
import { useGpuSession } from './helpers/gpu.js';
import { makeProblem } from './helpers/problems.js';

const gpu = useGpuSession();

describe('GPU training equals the float64 twin', () => {
  const cases: { scheme: Scheme; method: Method }[] = [
    { scheme: 'FB', method: 'exponential' },
    { scheme: 'FS', method: 'gs-pathwise' },
    { scheme: 'F', method: 'poisson' },
    { scheme: 'FS', method: 'categorical' },
    { scheme: 'FB', method: 'half-normal' },
  ];
  it.each(cases)('$scheme $method: 2 epochs of 3 steps (the last batch short)', async ({ scheme, method }) => {
    const problem = makeProblem(scheme, method, { bins: 30, sequences: 5, samples: 1, seed: 5 });
    const settings = { seed: 17, epochs: 2, batchSize: 2, samples: 3, adam: PAPER_ADAM };
    const expected = referenceTraining(problem.model, problem.params, problem.sequences, settings);
    const dataset = await uploadDataset(gpu(), [problem.sequences], problem.model.basis);
    try {
      const outcome = await trainGroup(gpu(), dataset, {
        layout: problem.layout,
        basis: problem.model.basis,
        method: problem.method,
        members: [{ seed: settings.seed, firstRow: 0, sequences: 5, init: problem.params }],
        batchSize: settings.batchSize,
        samples: settings.samples,
        epochs: settings.epochs,
      });
      expect(outcome.steps).toBe(6);
      const [member] = outcome.members;
      const epochMeans = [0, 1].map((epoch) => expected.elbos.slice(epoch * 3, epoch * 3 + 3).reduce((a, b) => a + b, 0) / 3);
      expect(member.elboHistory).toHaveLength(2);
      expect(member.params).toHaveLength(expected.params.length);
      member.elboHistory.forEach((elbo, epoch) => expect(Math.abs(elbo - epochMeans[epoch])).toBeLessThan(1e-4 * Math.abs(epochMeans[epoch])));
      // Six Adam steps of size ~0.05-0.1 each. Measured worst differences: pathwise ~1e-5; score methods 1-2.5e-4,
      // because their phi-gradient is w * grad ln q with w near -100 summed over samples of both signs, so f32
      // cancellation error is that much larger.
      let worst = 0;
      member.params.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - expected.params[i]))));
      expect(worst).toBeLessThan(problem.method.info.estimator === 'pathwise' ? 5e-5 : 1e-3);
      // And training moved them: the comparison is not between two copies of the initial values.
      let moved = 0;
      expected.params.forEach((value, i) => (moved = Math.max(moved, Math.abs(value - problem.params[i]))));
      expect(moved).toBeGreaterThan(0.1);
    } finally {
      dataset.release();
    }
  });
});

describe('batched fitting', () => {
  const problemA = makeProblem('FB', 'exponential', { bins: 40, sequences: 6, seed: 1 });
  const problemB = makeProblem('FB', 'exponential', { bins: 40, sequences: 6, seed: 2 });
  const settings = { hidden: 2, scheme: 'FB' as const, method: 'exponential' as const, epochs: 3, batchSize: 4, samples: 2 };

  it('gives each fit what it gets alone with the same seed, whatever else is in the job', async () => {
    const jobs = [
      { ...settings, train: problemA.sequences, seed: 3 },
      { ...settings, train: problemB.sequences, seed: 3 },
      { ...settings, train: problemA.sequences, seed: 4 },
      { ...settings, train: problemA.sequences, seed: 5, method: 'rayleigh' as const },
      { ...settings, train: problemB.sequences, seed: 6, hidden: 1 },
    ];
    const together = await fitMany(jobs, { session: gpu() });
    for (const [index, job] of jobs.entries()) {
      const alone = await fit(job.train, job, { session: gpu() });
      expect(together[index].model.generative).toEqual(alone.model.generative);
      expect(together[index].model.variational).toEqual(alone.model.variational);
      expect(together[index].elboHistory).toEqual(alone.elboHistory);
    }
    // Different data or seeds give different fits (the equality above is not vacuous).
    expect(together[0].model.generative).not.toEqual(together[1].model.generative);
    expect(together[0].model.generative).not.toEqual(together[2].model.generative);
  });

  it('splits a group that outgrows a buffer into jobs, says so, and gets the same results', async () => {
    const jobs = [3, 4, 5, 6].map((seed) => ({ ...settings, train: problemA.sequences, seed }));
    const notes: string[] = [];
    const whole = await fitMany(jobs, { session: gpu() });
    // Room for two fits' workspaces per job: four fits become two jobs.
    const perFit = workspaceBytes(
      { layout: problemA.layout, basis: exponentialBasis(5), method: problemA.method, models: 1, slots: 4, samples: 2, stepsPerEpoch: 2, noise: 'philox', mode: 'train', purpose: 2 },
      40,
    );
    const split = await fitMany(jobs, {
      session: gpu(),
      maxJobBytes: Math.floor(2.5 * perFit),
      onProgress: (progress) => progress.note && notes.push(progress.note),
    });
    expect(notes[0]).toMatch(/split into 2 jobs of at most 2 fits/);
    expect(split).toHaveLength(jobs.length);
    split.forEach((result, i) => expect(result.model.generative).toEqual(whole[i].model.generative));
  });

  it('dispatches a fixed number of kernels per step, whatever T, the sequences or M', async () => {
    const counts = new Set<string>();
    for (const [bins, sequences, samples] of [
      [20, 4, 1],
      [80, 9, 7],
    ]) {
      for (const scheme of ['F', 'FS', 'FB'] as const) {
        const problem = makeProblem(scheme, 'exponential', { bins, sequences });
        const [result] = await fitMany([{ ...settings, scheme, train: problem.sequences, epochs: 1, samples }], { session: gpu() });
        counts.add(`${scheme}:${result.dispatchesPerStep}`);
      }
    }
    // These small models take the fused path: instance gradient, sum gradient, Adam, commit, advance.
    expect([...counts].sort()).toEqual(['F:5', 'FB:5', 'FS:5']);
  });
});

describe('stopping', () => {
  it('saves the last finite parameters when Adam\'s own update overflows f32, and a one-step fit with a huge rate stays finite', async () => {
    const problem = makeProblem('FB', 'exponential', { bins: 30, sequences: 4 });
    const settings = { hidden: 2, scheme: 'FB' as const, method: 'exponential' as const, batchSize: 4, learningRateGenerative: 1e38 };
    const finite = (model: { generative: { weight: number[][]; bias: number[] }; variational?: { forwardWeight: number[][] } }): boolean =>
      [...model.generative.weight.flat(), ...model.generative.bias, ...model.variational!.forwardWeight.flat()].every(Number.isFinite);
    // One step: lr / (1 - beta1) alone would be 1e39, infinite in f32; the update is formed so that it is not.
    const one = await fit(problem.sequences, { ...settings, epochs: 1 }, { session: gpu() });
    expect(finite(one.model)).toBe(true);
    // The weights grow by ~1e38 per step until an update or a gradient is non-finite: the fit stops, names the step,
    // and keeps every parameter of the step before (each update is committed only when the whole model is finite).
    const error = await fit(problem.sequences, { ...settings, epochs: 20 }, { session: gpu() }).catch((e) => e);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(error.message).toMatch(/non-finite at step \d+/);
    expect(finite(error.result.model)).toBe(true);
    expect(Math.max(...error.result.model.generative.weight.flat().map(Math.abs))).toBeGreaterThan(1e38);
  });

  it('stops at a non-finite ELBO, naming the step, with the last finite parameters', async () => {
    const problem = makeProblem('FB', 'exponential', { bins: 30, sequences: 4 });
    const busy = problem.sequences.map((sequence) => sequence.map((bin) => bin.map(() => 6)));
    const init = buildModel({ layout: problem.layout, params: Float64Array.from(problem.params), method: problem.method, basis: problem.model.basis });
    // Opposite huge weights overflow to +inf and -inf in f32 and cancel to NaN in the first drive.
    init.generative.weight[0][0] = 3e38;
    init.generative.weight[0][1] = -3e38;
    const error = await fit(busy, { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 2, batchSize: 2, init }, { session: gpu() }).catch((e) => e);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(error.message).toMatch(/non-finite at step 0 \(epoch 1\)/);
    expect(error.result.model.generative.weight[0][0]).toBe(Math.fround(3e38));
    expect(error.result.model.training.stoppedEarly.reason).toBe('non-finite');
    expect(error.result.model.generative.weight.flat().every(Number.isFinite)).toBe(true);
  });

  it('reports a finite mean ELBO in every progress event, or null where there is none (never NaN or a 0 of nobody)', async () => {
    const problem = makeProblem('FB', 'exponential', { bins: 30, sequences: 4 });
    const busy = problem.sequences.map((sequence) => sequence.map((bin) => bin.map(() => 6)));
    const init = buildModel({ layout: problem.layout, params: Float64Array.from(problem.params), method: problem.method, basis: problem.model.basis });
    init.generative.weight[0][0] = 3e38;
    init.generative.weight[0][1] = -3e38;
    const events: (number | null)[] = [];
    const onProgress = (progress: { meanElbo: number | null }): void => void events.push(progress.meanElbo);
    await fitMany([{ train: problem.sequences, hidden: 2, scheme: 'FB', method: 'exponential', epochs: 2, batchSize: 2 }], { session: gpu(), onProgress });
    expect(events.slice(0, -1).every((value) => typeof value === 'number' && Number.isFinite(value))).toBe(true);
    expect(events.at(-1)).toBeNull();
    // A group whose every fit failed in its first epoch has no mean ELBO: null, not 0.
    events.length = 0;
    await fitMany([{ train: busy, hidden: 2, scheme: 'FB', method: 'exponential', epochs: 2, batchSize: 2, init }], { session: gpu(), onProgress });
    expect(events).toEqual([null, null]);
  });

  it('keeps what was learned when interrupted', async () => {
    const problem = makeProblem('FB', 'exponential', { bins: 30, sequences: 4 });
    const controller = new AbortController();
    const result = await fit(
      problem.sequences,
      { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 50, batchSize: 2 },
      { session: gpu(), signal: controller.signal, onProgress: (progress) => progress.epoch === 2 && controller.abort() },
    );
    expect(result.interrupted).toBe(true);
    expect(result.epochsCompleted).toBe(2);
    expect(result.steps).toBe(4);
    expect(result.model.training?.stoppedEarly?.reason).toBe('interrupted');
    expect(result.model.generative.weight.flat().some((w) => w !== 0)).toBe(true);
  });
});

describe('bad settings', () => {
  const problem = makeProblem('F', 'exponential', { bins: 20, sequences: 3 });
  const base = { hidden: 2, scheme: 'F' as const, method: 'exponential' as const, epochs: 1 };
  it.each([
    { name: 'an unknown scheme', change: { scheme: 'FX' }, message: /scheme is the string "FX"; use one of F, FS, FB/ },
    { name: 'an unknown method', change: { method: 'gamma' }, message: /method "gamma" is unknown; use one of poisson, categorical/ },
    { name: 'a fractional hidden count', change: { hidden: 1.5 }, message: /hidden must be a positive integer \(got 1\.5\)/ },
    { name: 'zero epochs', change: { epochs: 0 }, message: /epochs must be a positive integer/ },
    { name: 'a negative learning rate', change: { learningRateGenerative: -1 }, message: /learningRateGenerative must be a positive number/ },
  ])('rejects $name', async ({ change, message }) => {
    await expect(fit(problem.sequences, { ...base, ...change } as never, { session: gpu() })).rejects.toThrow(message);
  });

  it('rejects data whose neuron count disagrees with the starting model', async () => {
    const other = makeProblem('F', 'exponential', { visible: 4, bins: 20, sequences: 3 });
    const init = buildModel({ layout: other.layout, params: other.params, method: other.method, basis: other.model.basis });
    await expect(fit(problem.sequences, { ...base, init }, { session: gpu() })).rejects.toThrow(/init is a 4\+2 F model; the fit needs 3\+2 F/);
  });

  it('rejects ragged and negative counts, naming the element', async () => {
    const ragged = problem.sequences.map((s) => s.map((b) => [...b]));
    ragged[1][4] = [1, 2];
    await expect(fit(ragged, base, { session: gpu() })).rejects.toThrow(/train\[1\]\[4\] has 2 neurons but train\[0\]\[0\] has 3/);
    const negative = problem.sequences.map((s) => s.map((b) => [...b]));
    negative[2][3][1] = -1;
    await expect(fit(negative, base, { session: gpu() })).rejects.toThrow(/train\[2\]\[3\]\[1\] is -1: spike counts must be non-negative integers/);
  });
});
