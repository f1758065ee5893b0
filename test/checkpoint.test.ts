// Checkpoint and resume, bit for bit: a fit, a batch of fits or a grid stopped part way (at an epoch boundary or
// inside an epoch), saved, passed through JSON and resumed, ends with exactly the parameters, ELBO histories, steps
// and metrics of a run that never stopped; and a checkpoint resumed with other settings or data is refused.
import { describe, expect, it } from 'vitest';
import { fit, fitMany, type FitCheckpoint, type FitResult } from '../src/api/fit.js';
import { uploadDataset, type DeviceDataset } from '../src/engine/dataset.js';
import { trainGroup, type TrainingGroupSpec, type TrainingOptions, type TrainingOutcome } from '../src/engine/training.js';
import type { JobPath } from '../src/engine/spec.js';
import { CheckpointMismatchError, decodeFloat32, encodeFloat32, type TrainingCheckpoint } from '../src/model/checkpoint.js';
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
  // 5 sequences in batches of 2: 3 steps per epoch (the last short), one step per submission.
  const problem = makeProblem('FB', 'exponential', { bins: 24, sequences: 5, seed: 3 });

  const groupSpec = (path: JobPath): TrainingGroupSpec => ({
    layout: problem.layout,
    basis: problem.model.basis,
    method: problem.method,
    members: [3, 4].map((seed) => ({ seed, firstRow: 0, sequences: 5 })),
    batchSize: 2,
    samples: 2,
    epochs: 3,
    stepsPerSubmit: 1,
    path,
  });

  /** Trains, stopping after `stopAfter` submissions; returns the outcome and the last checkpoint. */
  async function train(dataset: DeviceDataset, path: JobPath, options: TrainingOptions & { stopAfter?: number } = {}): Promise<{ outcome: TrainingOutcome; last?: TrainingCheckpoint }> {
    const controller = new AbortController();
    let last: TrainingCheckpoint | undefined;
    const outcome = await abortingAfter(options.stopAfter, controller, () =>
      trainGroup(gpu(), dataset, groupSpec(path), { ...options, signal: controller.signal, onCheckpoint: (state) => void (last = throughJson(state)) }),
    );
    return { outcome, last };
  }

  it.each(['auto', 'staged'] as JobPath[])('path %s: the same parameters, histories and steps as a run that never stopped', async (path) => {
    const dataset = await uploadDataset(gpu(), [problem.sequences], problem.model.basis);
    try {
      const whole = await train(dataset, path);
      // 4 submissions: the first epoch and one step of the second.
      const stopped = await train(dataset, path, { stopAfter: 4 });
      expect(stopped.outcome.interrupted).toBe(true);
      expect(stopped.last).toMatchObject({ epochsCompleted: 1, stepsIntoEpoch: 1, step: 4, finished: false });
      const resumed = await train(dataset, path, { resume: stopped.last });
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
    const dataset = await uploadDataset(gpu(), [problem.sequences], problem.model.basis);
    try {
      const { last } = await train(dataset, 'auto', { stopAfter: 2 });
      const other = { ...groupSpec('auto'), members: [3, 5].map((seed) => ({ seed, firstRow: 0, sequences: 5 })) };
      await expect(trainGroup(gpu(), dataset, other, { resume: last })).rejects.toThrow(/training\.members\[1\]\.seed is 5 here but 4 in the checkpoint/);
      await expect(trainGroup(gpu(), dataset, groupSpec('staged'), { resume: last })).rejects.toThrow(/training\.path is "staged" here but "auto"/);
    } finally {
      dataset.release();
    }
  });
});

describe('a fit resumed from its checkpoint', () => {
  const fused = makeProblem('FB', 'exponential', { bins: 30, sequences: 6, seed: 1 });
  // 8 visible + 2 hidden neurons: over FUSED_LIMITS, so the staged path.
  const staged = makeProblem('FS', 'exponential', { visible: 8, hidden: 2, bins: 20, sequences: 4, seed: 2 });
  const cases = [
    { name: 'fused path (small model)', train: fused.sequences, settings: { hidden: 2, scheme: 'FB' as const, method: 'exponential' as const, epochs: 4, batchSize: 4, samples: 2, seed: 7 } },
    { name: 'staged path (10 neurons)', train: staged.sequences, settings: { hidden: 2, scheme: 'FS' as const, method: 'exponential' as const, epochs: 3, batchSize: 2, samples: 2, seed: 8 } },
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
    const settings = { hidden: 2, scheme: 'FB' as const, method: 'exponential' as const, epochs: 3, batchSize: 2, samples: 2, seed: 9 };
    const whole = await fit(fused.sequences, settings, { session: gpu() });
    let last: FitCheckpoint | undefined;
    const controller = new AbortController();
    // 3 steps per epoch: stop after the fifth, two steps into the second epoch.
    const stopped = await abortingAfter(5, controller, () =>
      fit(fused.sequences, settings, { session: gpu(), signal: controller.signal, stepsPerSubmit: 1, checkpoint: { save: (state) => void (last = throughJson(state)) } }),
    );
    expect(stopped.interrupted).toBe(true);
    expect(last?.inProgress?.training.step).toBe(stopped.steps);
    expect(last?.inProgress?.training).toMatchObject({ epochsCompleted: 1, stepsIntoEpoch: 2, step: 5 });
    const resumed = await fit(fused.sequences, settings, { session: gpu(), checkpoint: { save: () => {}, resume: last } });
    expectSameFit(resumed, whole);
  });

  it('refuses to resume with other settings or data, naming what differs', async () => {
    const settings = cases[0].settings;
    let last: FitCheckpoint | undefined;
    const controller = new AbortController();
    await fit(fused.sequences, settings, {
      session: gpu(),
      signal: controller.signal,
      onProgress: () => controller.abort(),
      checkpoint: { save: (state) => void (last = throughJson(state)) },
    });
    const resume = (train: number[][][], changed: object): Promise<FitResult> =>
      fit(train, { ...settings, ...changed }, { session: gpu(), checkpoint: { save: () => {}, resume: last } });
    await expect(resume(fused.sequences, { epochs: 5 })).rejects.toThrow(CheckpointMismatchError);
    await expect(resume(fused.sequences, { epochs: 5 })).rejects.toThrow(/fit\.epochs is 5 here but 4 in the checkpoint/);
    await expect(resume(fused.sequences, { seed: 1, samples: 3 })).rejects.toThrow(/fit\.samples is 3 here but 2 .*fit\.seed is 1 here but 7/);
    const otherData = fused.sequences.map((sequence) => sequence.map((bin) => [...bin]));
    otherData[2][5][1] += 1;
    await expect(resume(otherData, {})).rejects.toThrow(/fit\.train is "[0-9a-f]{16}" here but "[0-9a-f]{16}" in the checkpoint/);
    await expect(fitMany([{ ...settings, train: fused.sequences }, { ...settings, train: fused.sequences, seed: 8 }], { session: gpu(), checkpoint: { save: () => {}, resume: last } })).rejects.toThrow(
      /the checkpoint holds 1 fits, this call has 2/,
    );
    await expect(fit(fused.sequences, settings, { session: gpu(), checkpoint: { save: () => {}, resume: { format: 'something else' } as never } })).rejects.toThrow(/not that kind of checkpoint/);
  });
});
