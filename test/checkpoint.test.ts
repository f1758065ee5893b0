// Checkpoint and resume, bit for bit: a fit, a batch of fits or a grid stopped part way (at an epoch boundary or
// inside an epoch), saved, passed through JSON and resumed, ends with exactly the parameters, ELBO histories, steps
// and metrics of a run that never stopped; and a checkpoint resumed with other settings or data is refused.
import { describe, expect, it } from 'vitest';
import { fit, fitMany, type FitCheckpoint, type FitJob, type FitProgress, type FitResult } from '../src/api/fit.js';
import { runGrid, type GridCheckpoint, type GridOptions, type GridRow, type GridSpec } from '../src/api/grid.js';
import { syntheticTruth } from '../src/api/synthetic.js';
import { uploadDataset, type DeviceDataset } from '../src/engine/dataset.js';
import { trainGroup, type TrainingGroupSpec, type TrainingOptions, type TrainingOutcome } from '../src/engine/training.js';
import { CheckpointMismatchError, decodeFloat32, encodeFloat32, type TrainingCheckpoint } from '../src/model/checkpoint.js';
import { workspaceBytes } from '../src/engine/workspace.js';
import { exponentialBasis } from '../src/model/basis.js';
import { NoisePurpose } from '../src/model/philox.js';
import { flattenModel } from '../src/model/json.js';
import { useGpuSession } from './helpers/gpu.js';
import { makeProblem } from './helpers/problems.js';

const gpu = useGpuSession();

/** The state as a file would hold it: through JSON text and back. */
const throughJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Whether two arrays hold the same values bit for bit (Object.is: -0 and NaN count). */
function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>): boolean {
  return actual.length === expected.length && Array.from(actual).every((value, i) => Object.is(value, expected[i]));
}

function expectSameFit(actual: FitResult, expected: FitResult): void {
  expect(actual.interrupted).toBe(false);
  expect(JSON.stringify(actual.model)).toBe(JSON.stringify(expected.model));
  expect(sameBits(flattenModel(actual.model).params, flattenModel(expected.model).params)).toBe(true);
  expect(actual.elboHistory).toEqual(expected.elboHistory);
  expect(actual.steps).toBe(expected.steps);
  expect(actual.epochsCompleted).toBe(expected.epochsCompleted);
}

/**
 * Runs `body`, aborting `controller` once `submissions` training submissions have completed: the check before the
 * next one then stops training there, at a chosen step, even inside an epoch.
 */
async function abortingAfter<T>(submissions: number | undefined, controller: AbortController, body: () => Promise<T>): Promise<T> {
  const runtime = gpu().runtime;
  const original = runtime.submitCommands;
  let seen = 0;
  runtime.submitCommands = async function (this: typeof runtime, ...args: Parameters<typeof original>) {
    await original.apply(this, args);
    if (args[0].startsWith('epoch') && ++seen === submissions) controller.abort();
  };
  try {
    return await body();
  } finally {
    runtime.submitCommands = original;
  }
}

// Every fit here has one of two shapes, and the same bins, minibatch and samples, so that the file compiles few
// pipelines (their constants include T, the slots and M): 3 + 2 neurons takes the fused path, 8 + 2 the staged one.
// 5 sequences in minibatches of 2: 3 steps per epoch, the last short.
const BINS = 30;
const basis = exponentialBasis(5);
const small = makeProblem('FB', 'exponential', { bins: BINS, sequences: 5, seed: 1 });
const large = makeProblem('FS', 'exponential', { visible: 8, hidden: 2, bins: BINS, sequences: 5, seed: 2 });
const training = { hidden: 2, method: 'exponential' as const, epochs: 3, batchSize: 2, samples: 2 };
const fused = { train: small.sequences, settings: { ...training, scheme: 'FB' as const, seed: 7 } };
const staged = { train: large.sequences, settings: { ...training, scheme: 'FS' as const, seed: 8 } };

describe('f32 arrays in a checkpoint', () => {
  it('round-trip every bit pattern, -0, NaN and the infinities included', () => {
    const values = new Float32Array([0, -0, 1.5, -3.25e-38, Number.NaN, Infinity, -Infinity, 0.1, 3.4e38, 1e-45]);
    for (const length of [0, 1, 2, 3, values.length]) {
      const decoded = decodeFloat32(encodeFloat32(values.subarray(0, length)), 'values', length);
      expect(sameBits(decoded, values.subarray(0, length))).toBe(true);
    }
    expect(() => decodeFloat32('AAAA', 'values')).toThrow(/not whole f32 values/);
    expect(() => decodeFloat32('AAAA*A==', 'values')).toThrow(/not base64/);
  });
});

describe('a training group resumed inside an epoch', () => {
  const groupSpec = (problem: typeof small, seeds = [3, 4]): TrainingGroupSpec => ({
    layout: problem.layout,
    basis,
    method: problem.method,
    members: seeds.map((seed) => ({ seed, firstRow: 0, sequences: 5 })),
    batchSize: 2,
    samples: 2,
    epochs: 3,
    stepsPerSubmit: 1,
  });

  /** Trains, stopping after `stopAfter` submissions; returns the outcome and the last checkpoint. */
  async function train(dataset: DeviceDataset, spec: TrainingGroupSpec, options: TrainingOptions & { stopAfter?: number } = {}): Promise<{ outcome: TrainingOutcome; last?: TrainingCheckpoint }> {
    const controller = new AbortController();
    let last: TrainingCheckpoint | undefined;
    const outcome = await abortingAfter(options.stopAfter, controller, () =>
      trainGroup(gpu(), dataset, spec, { ...options, signal: controller.signal, onCheckpoint: (state) => void (last = throughJson(state)) }),
    );
    return { outcome, last };
  }

  it.each([
    { path: 'fused', problem: small },
    { path: 'staged', problem: large },
  ])('$path path: the same parameters, histories and steps as a run that never stopped', async ({ problem }) => {
    const dataset = await uploadDataset(gpu(), [problem.sequences], basis);
    try {
      const spec = groupSpec(problem);
      const whole = await train(dataset, spec);
      // 4 submissions: the first epoch and one step of the second.
      const stopped = await train(dataset, spec, { stopAfter: 4 });
      expect(stopped.outcome.interrupted).toBe(true);
      expect(stopped.last).toMatchObject({ epochsCompleted: 1, stepsIntoEpoch: 1, step: 4, finished: false });
      const resumed = await train(dataset, spec, { resume: stopped.last });
      expect(resumed.outcome.interrupted).toBe(false);
      expect(resumed.outcome.steps).toBe(9);
      expect(resumed.outcome.epochsCompleted).toBe(3);
      resumed.outcome.members.forEach((member, b) => {
        expect(sameBits(member.params, whole.outcome.members[b].params)).toBe(true);
        expect(member.elboHistory).toEqual(whole.outcome.members[b].elboHistory);
        expect(member.elboHistory).toHaveLength(3);
      });
      expect(resumed.last?.finished).toBe(true);
      // The training moved the parameters: the equality is not between two copies of the start.
      expect(sameBits(whole.outcome.members[0].params, stopped.outcome.members[0].params)).toBe(false);
    } finally {
      dataset.release();
    }
  });

  it('refuses a state of another group, naming what differs', async () => {
    const dataset = await uploadDataset(gpu(), [small.sequences], basis);
    try {
      const { last } = await train(dataset, groupSpec(small), { stopAfter: 2 });
      await expect(trainGroup(gpu(), dataset, groupSpec(small, [3, 5]), { resume: last })).rejects.toThrow(/training\.members\[1\]\.seed is 5 here but 4 in the checkpoint/);
      await expect(trainGroup(gpu(), dataset, { ...groupSpec(small), path: 'staged' }, { resume: last })).rejects.toThrow(/training\.path is "staged" here but "auto"/);
    } finally {
      dataset.release();
    }
  });
});

describe('a fit resumed from its checkpoint', () => {
  const cases = [
    { name: 'fused path (3 + 2 neurons)', ...fused },
    { name: 'staged path (8 + 2 neurons)', ...staged },
  ];

  it.each(cases)('$name: interrupted at an epoch, resumed after JSON, equals a fit that never stopped', async ({ train, settings }) => {
    const whole = await fit(train, settings, { session: gpu() });
    const saves: FitCheckpoint[] = [];
    const controller = new AbortController();
    const stopped = await fit(train, settings, {
      session: gpu(),
      signal: controller.signal,
      onProgress: (progress) => progress.epoch === 2 && controller.abort(),
      checkpoint: { save: (state) => void saves.push(throughJson(state)) },
    });
    expect(stopped.interrupted).toBe(true);
    expect(stopped.epochsCompleted).toBe(2);
    // A save after each epoch; the stop, before any step of epoch 3, adds none.
    expect(saves.map((state) => state.inProgress?.training.epochsCompleted)).toEqual([1, 2]);
    const resumedSaves: FitCheckpoint[] = [];
    const resumed = await fit(train, settings, { session: gpu(), checkpoint: { save: (state) => void resumedSaves.push(state), resume: saves.at(-1) } });
    expectSameFit(resumed, whole);
    // The last save holds the finished fit, and resuming it trains nothing and gives the fit again.
    const done = throughJson(resumedSaves.at(-1)!);
    expect(done.inProgress).toBeUndefined();
    expect(done.completed.map(({ index }) => index)).toEqual([0]);
    expectSameFit(await fit(train, settings, { session: gpu(), checkpoint: { save: () => {}, resume: done } }), whole);
  });

  it('interrupted inside an epoch (one step per submission), resumed, equals a fit that never stopped', async () => {
    const { train, settings } = fused;
    const whole = await fit(train, settings, { session: gpu() });
    let last: FitCheckpoint | undefined;
    const controller = new AbortController();
    // 3 steps per epoch: stop after the fifth, two steps into the second epoch.
    const stopped = await abortingAfter(5, controller, () =>
      fit(train, settings, { session: gpu(), signal: controller.signal, stepsPerSubmit: 1, checkpoint: { save: (state) => void (last = throughJson(state)) } }),
    );
    expect(stopped.interrupted).toBe(true);
    expect(last?.inProgress?.training.step).toBe(stopped.steps);
    expect(last?.inProgress?.training).toMatchObject({ epochsCompleted: 1, stepsIntoEpoch: 2, step: 5 });
    const resumed = await fit(train, settings, { session: gpu(), checkpoint: { save: () => {}, resume: last } });
    expectSameFit(resumed, whole);
  });

  it('refuses to resume with other settings or data, naming what differs', async () => {
    const { train, settings } = fused;
    let last: FitCheckpoint | undefined;
    const controller = new AbortController();
    await fit(train, settings, {
      session: gpu(),
      signal: controller.signal,
      onProgress: () => controller.abort(),
      checkpoint: { save: (state) => void (last = throughJson(state)) },
    });
    const resume = (data: number[][][], changed: object): Promise<FitResult> =>
      fit(data, { ...settings, ...changed }, { session: gpu(), checkpoint: { save: () => {}, resume: last } });
    await expect(resume(train, { epochs: 5 })).rejects.toThrow(CheckpointMismatchError);
    await expect(resume(train, { epochs: 5 })).rejects.toThrow(/fit\.epochs is 5 here but 3 in the checkpoint/);
    await expect(resume(train, { seed: 1, samples: 3 })).rejects.toThrow(/fit\.samples is 3 here but 2 .*fit\.seed is 1 here but 7/);
    const otherData = train.map((sequence) => sequence.map((bin) => [...bin]));
    otherData[2][5][1] += 1;
    await expect(resume(otherData, {})).rejects.toThrow(/fit\.train is "[0-9a-f]{16}" here but "[0-9a-f]{16}" in the checkpoint/);
    await expect(fitMany([{ ...settings, train: train }, { ...settings, train: train, seed: 8 }], { session: gpu(), checkpoint: { save: () => {}, resume: last } })).rejects.toThrow(
      /the checkpoint holds 1 fits, this call has 2/,
    );
    await expect(fit(train, settings, { session: gpu(), checkpoint: { save: () => {}, resume: { format: 'something else' } as never } })).rejects.toThrow(/not that kind of checkpoint/);
  });
});

describe('fitMany resumed from its checkpoint', () => {
  // Two groups of two fits, trained one group after the other; they differ in a learning rate only, so that they
  // share pipelines.
  const jobs: FitJob[] = [
    { ...fused.settings, train: fused.train, seed: 3 },
    { ...fused.settings, train: fused.train, seed: 4 },
    { ...fused.settings, train: fused.train, seed: 3, learningRateVariational: 0.05 },
    { ...fused.settings, train: fused.train, seed: 5, learningRateVariational: 0.05 },
  ];

  const stops: { name: string; when: (progress: FitProgress) => boolean; completed: number[]; running?: number[] }[] = [
    { name: 'between the groups', when: (progress) => progress.fitsDone === 2, completed: [0, 1] },
    // The first group's last report has epoch 3 (its end); the second group's first has epoch 1.
    { name: 'in the second group', when: (progress) => progress.fitsDone === 2 && progress.epoch === 1, completed: [0, 1], running: [2, 3] },
  ];

  it.each(stops)('interrupted $name, resumed, equals a call that never stopped', async ({ when, completed, running }) => {
    const whole = await fitMany(jobs, { session: gpu() });
    let last: FitCheckpoint | undefined;
    const controller = new AbortController();
    const stopped = await fitMany(jobs, {
      session: gpu(),
      signal: controller.signal,
      onProgress: (progress) => when(progress) && controller.abort(),
      checkpoint: { save: (state) => void (last = throughJson(state)) },
    });
    expect(stopped.filter(Boolean)).toHaveLength(running ? 4 : 2);
    expect(last!.completed.map(({ index }) => index)).toEqual(completed);
    expect(last!.inProgress?.indices).toEqual(running);
    const progress: FitProgress[] = [];
    const resumed = await fitMany(jobs, { session: gpu(), onProgress: (report) => progress.push(report), checkpoint: { save: () => {}, resume: last } });
    resumed.forEach((result, i) => expectSameFit(result, whole[i]));
    // The first group was not trained again: every report is of the second.
    expect(progress.every((report) => report.fitsDone >= 2)).toBe(true);
  });
});

describe('a grid resumed from its checkpoint', () => {
  // Four fits of the shape above, evaluated under a buffer limit that holds 3 models' evaluation (and 1 fit's
  // training): two evaluation jobs of one shape, so that an interrupt can fall between them. Ground truth of a 3 + 2
  // model gives the W and b errors too.
  const spec: GridSpec = {
    datasets: [{ name: 'toy', train: small.sequences, test: makeProblem('FB', 'exponential', { bins: BINS, sequences: 3, seed: 6 }).sequences, truth: syntheticTruth(0) }],
    seeds: [0, 1, 2, 3],
    schemes: ['FB'],
    methods: ['exponential'],
    hidden: [2],
    epochs: 2,
    batchSize: 2,
    samples: 2,
    evalSamples: 20,
  };
  const trainingBytes = (models: number): number =>
    workspaceBytes({ layout: small.layout, basis, method: small.method, models, slots: 2, samples: 2, stepsPerEpoch: 3, noise: 'philox', mode: 'train', purpose: NoisePurpose.train }, BINS);
  const maxJobBytes = trainingBytes(2) - 4;

  /** The rows as they would be written: every metric and model, bit for bit (Object.is on each metric). */
  function expectSameRows(actual: GridRow[], expected: GridRow[]): void {
    expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
    actual.forEach((row, i) => {
      expect(row.problem).toBe(expected[i].problem);
      for (const [name, value] of Object.entries(expected[i].metrics!)) {
        const actualValue = (row.metrics as unknown as Record<string, number | number[]>)[name];
        // Per-sequence values are compared value by value, each bit for bit.
        if (Array.isArray(value)) (value as number[]).forEach((item, k) => expect(Object.is((actualValue as number[])[k], item)).toBe(true));
        else expect(Object.is(actualValue, value)).toBe(true);
      }
    });
  }

  async function interrupted(stop: Pick<GridOptions, 'onEvaluate' | 'onProgress'>, controller: AbortController): Promise<{ rows: GridRow[]; last?: GridCheckpoint }> {
    let last: GridCheckpoint | undefined;
    const rows = await runGrid(spec, { session: gpu(), maxJobBytes, signal: controller.signal, ...stop, checkpoint: { save: (state) => void (last = throughJson(state)) } });
    return { rows, last };
  }

  it('keeps the metrics computed before an interrupt in evaluation, and a resumed grid gives the rows of one that never stopped', async () => {
    const wholeEvaluations: number[][] = [];
    const whole = await runGrid(spec, { session: gpu(), maxJobBytes, onEvaluate: (done, total) => wholeEvaluations.push([done, total]) });
    expect(whole.every((row) => row.metrics?.weightError !== undefined)).toBe(true);
    expect(wholeEvaluations).toEqual([
      [3, 4],
      [4, 4],
    ]);
    const controller = new AbortController();
    const { rows, last } = await interrupted({ onEvaluate: (done, total) => done < total && controller.abort() }, controller);
    // The first job's three rows kept their metrics; the second job never ran.
    expect(rows.map((row) => row.metrics !== undefined)).toEqual([true, true, true, false]);
    expect(rows[3].problem).toBe('fitted, not evaluated (interrupted)');
    expectSameRows(rows.slice(0, 3), whole.slice(0, 3));
    expect(last!.metrics.map(({ row }) => row)).toEqual([0, 1, 2]);
    const evaluations: number[][] = [];
    const progress: FitProgress[] = [];
    const resumed = await runGrid(spec, {
      session: gpu(),
      maxJobBytes,
      onProgress: (report) => progress.push(report),
      onEvaluate: (done, total) => evaluations.push([done, total]),
      checkpoint: { save: () => {}, resume: last },
    });
    expectSameRows(resumed, whole);
    // Nothing was fitted again, and only the second evaluation job ran.
    expect(progress).toEqual([]);
    expect(evaluations).toEqual([[4, 4]]);
  });

  it('interrupted during fitting, resumed, gives the rows of a grid that never stopped', async () => {
    const whole = await runGrid(spec, { session: gpu(), maxJobBytes });
    const controller = new AbortController();
    // One fit per job under the limit: stop in the second job's first epoch.
    const { rows, last } = await interrupted({ onProgress: (progress) => progress.fitsDone === 1 && progress.epoch === 1 && controller.abort() }, controller);
    expect(rows.map((row) => row.problem)).toEqual(['fitted, not evaluated (interrupted)', 'interrupted during fitting', 'not fitted (interrupted)', 'not fitted (interrupted)']);
    expect(last!.fit.completed.map(({ index }) => index)).toEqual([0]);
    expect(last!.fit.inProgress?.indices).toEqual([1]);
    const resumed = await runGrid(spec, { session: gpu(), maxJobBytes, checkpoint: { save: () => {}, resume: last } });
    expectSameRows(resumed, whole);
  });

  it('refuses a checkpoint of another grid, naming what differs', async () => {
    const controller = new AbortController();
    const { last } = await interrupted({ onProgress: () => controller.abort() }, controller);
    const resume = (changed: Partial<GridSpec>): Promise<GridRow[]> => runGrid({ ...spec, ...changed }, { session: gpu(), checkpoint: { save: () => {}, resume: last } });
    await expect(resume({ evalSamples: 40 })).rejects.toThrow(/grid\.evalSamples is 40 here but 20 in the checkpoint/);
    await expect(resume({ seeds: [0, 1, 2, 4] })).rejects.toThrow(/grid\.seeds is \[0,1,2,4\] here but \[0,1,2,3\]/);
    await expect(resume({ datasets: [{ ...spec.datasets[0], test: small.sequences }] })).rejects.toThrow(/grid\.datasets\[0\]\.test is "[0-9a-f]{16}" here/);
    await expect(runGrid(spec, { session: gpu(), checkpoint: { save: () => {}, resume: last!.fit as never } })).rejects.toThrow(/not that kind of checkpoint/);
  });
});
