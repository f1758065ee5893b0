// No limit but memory: a minibatch run in chunks of sequences, and a dataset held in several shards and staged
// chunk by chunk, give the unchunked results to f32 rounding (the chunks' gradients are summed before the one Adam
// step; the noise is keyed by the slot's place in the whole minibatch). The API plans chunks when a fit outgrows a
// buffer and says so.
import { describe, expect, it } from 'vitest';
import { fitMany } from '../src/api/fit.js';
import { uploadDataset, type UploadOptions } from '../src/engine/dataset.js';
import { planJobs } from '../src/engine/sizing.js';
import { trainGroup, type TrainingOutcome } from '../src/engine/training.js';
import { workspaceBytes } from '../src/engine/workspace.js';
import { NoisePurpose } from '../src/model/philox.js';
import type { Method, Scheme } from '../src/model/types.js';
import { useGpuSession } from './helpers/gpu.js';
import { makeProblem } from './helpers/problems.js';

const gpu = useGpuSession();

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('a minibatch in chunks equals the whole minibatch', () => {
  const cases: { scheme: Scheme; method: Method }[] = [
    { scheme: 'FB', method: 'exponential' },
    { scheme: 'FS', method: 'gs-pathwise' },
    { scheme: 'F', method: 'poisson' },
    { scheme: 'FS', method: 'rayleigh' },
  ];
  it.each(cases)('$scheme $method: 2 epochs, batch 5 in chunks of 2, from one buffer, from shards and from the host', async ({ scheme, method }) => {
    // 7 sequences, batch 5: each epoch is a full minibatch (3 chunks, the last of one sequence) and a short one.
    const problem = makeProblem(scheme, method, { bins: 24, sequences: 7, seed: 3 });
    const members = [0, 1].map((m) => ({ seed: 21 + m, firstRow: 0, sequences: 7, init: problem.params.map((p, i) => (i % 5 === m ? p * 0.5 : p)) }));
    const train = async (chunkSlots: number | undefined, upload: UploadOptions = {}): Promise<{ outcome: TrainingOutcome; shards: number }> => {
      const dataset = await uploadDataset(gpu(), [problem.sequences], problem.model.basis, 'train', {}, upload);
      try {
        const outcome = await trainGroup(gpu(), dataset, {
          layout: problem.layout,
          basis: problem.model.basis,
          method: problem.method,
          members,
          batchSize: 5,
          samples: 3,
          epochs: 2,
          chunkSlots,
        });
        return { outcome, shards: dataset.shards.length };
      } finally {
        dataset.release();
      }
    };
    const whole = await train(undefined);
    const chunked = await train(2);
    // Rows of 24 bins x 3 neurons take 868 bytes: 2,000 bytes hold two rows per shard, so 7 rows need 4 shards.
    const staged = await train(2, { maxShardBytes: 2_000 });
    // The same shards kept in host memory, each chunk's rows written to the device between submissions.
    const fromHost = await train(2, { maxShardBytes: 2_000, placement: 'host' });
    expect(whole.shards).toBe(1);
    expect(staged.shards).toBe(4);
    expect(fromHost.shards).toBe(4);
    // Every stage runs per chunk but Adam and its commit, once per step.
    expect(chunked.outcome.dispatchesPerStep).toBe(3 * (whole.outcome.dispatchesPerStep - 2) + 2);
    for (const run of [chunked, staged, fromHost]) {
      expect(run.outcome.steps).toBe(4);
      run.outcome.members.forEach((member, m) => {
        const reference = whole.outcome.members[m];
        expect(member.elboHistory).toHaveLength(2);
        member.elboHistory.forEach((elbo, epoch) =>
          expect(Math.abs(elbo - reference.elboHistory[epoch])).toBeLessThan(1e-5 * Math.abs(reference.elboHistory[epoch])),
        );
        // Four Adam steps from the same gradients summed in another order: f32 rounding only (measured below 1e-6
        // pathwise; score gradients cancel more, as in the training tests).
        expect(largestDifference(member.params, reference.params)).toBeLessThan(problem.method.info.estimator === 'pathwise' ? 2e-5 : 5e-4);
      });
    }
    // The two models differ, and training moved them: the comparisons are not between copies.
    expect(largestDifference(whole.outcome.members[0].params, whole.outcome.members[1].params)).toBeGreaterThan(1e-2);
    expect(largestDifference(whole.outcome.members[0].params, members[0].init)).toBeGreaterThan(0.05);
  });
});

describe('datasets without the anti-causal convolution', () => {
  it('take a third less memory, give F the same fit, and are refused by FB', async () => {
    const problem = makeProblem('F', 'exponential', { bins: 30, sequences: 4 });
    const full = await uploadDataset(gpu(), [problem.sequences], problem.model.basis);
    const lean = await uploadDataset(gpu(), [problem.sequences], problem.model.basis, 'train', {}, { antiCausal: false });
    try {
      expect(lean.shards[0].regions.backConv.count).toBe(0);
      expect(lean.shards[0].buffer!.size).toBeLessThan(0.7 * full.shards[0].buffer!.size);
      expect(await lean.read('conv')).toEqual(await full.read('conv'));
      const spec = { layout: problem.layout, basis: problem.model.basis, method: problem.method, batchSize: 2, samples: 2, epochs: 1 };
      const members = [{ seed: 3, firstRow: 0, sequences: 4, init: problem.params }];
      const [a, b] = [await trainGroup(gpu(), full, { ...spec, members }), await trainGroup(gpu(), lean, { ...spec, members })];
      expect(b.members[0].params).toEqual(a.members[0].params);
      const fb = makeProblem('FB', 'exponential', { bins: 30, sequences: 4 });
      await expect(trainGroup(gpu(), lean, { ...spec, layout: fb.layout, members: [{ ...members[0], init: fb.params }] })).rejects.toThrow(
        /an FB job reads the anti-causal convolution, which this dataset was uploaded without/,
      );
    } finally {
      full.release();
      lean.release();
    }
  });
});

describe('compact counts', () => {
  it('store two 16-bit counts a word, rows word-aligned (odd rows too), and refuse a count over 65,535 by name', async () => {
    // 25 bins x 3 neurons = 75 counts a row: every other row starts inside a word unless rows are padded.
    const problem = makeProblem('F', 'exponential', { bins: 25, sequences: 7, seed: 8 });
    const busy = problem.sequences.map((sequence, s) => sequence.map((bin, t) => bin.map((count, v) => (s === 3 && t === 7 && v === 1 ? 65535 : count))));
    const dataset = await uploadDataset(gpu(), [busy], problem.model.basis, 'train', {}, { maxShardBytes: 2_000 });
    try {
      expect(dataset.shards.length).toBeGreaterThan(2);
      expect(Array.from(await dataset.read('counts'))).toEqual(busy.flat(2));
      expect(dataset.shards[0].regions.counts.count).toBe(dataset.shards[0].rows * 38);
    } finally {
      dataset.release();
    }
    // Training from those shards (staged chunk by chunk, odd-length rows) equals training from one buffer.
    const spec = { layout: problem.layout, basis: problem.model.basis, method: problem.method, batchSize: 3, samples: 2, epochs: 1 };
    const members = [{ seed: 3, firstRow: 0, sequences: 7, init: problem.params }];
    const run = async (maxShardBytes?: number) => {
      const data = await uploadDataset(gpu(), [problem.sequences], problem.model.basis, 'train', {}, { maxShardBytes });
      try {
        return (await trainGroup(gpu(), data, { ...spec, members })).members[0];
      } finally {
        data.release();
      }
    };
    const [whole, staged] = [await run(), await run(2_000)];
    expect(staged.params).toEqual(whole.params);
    const tooMany = busy.map((sequence) => sequence.map((bin) => [...bin]));
    tooMany[2][4][0] = 65536;
    await expect(uploadDataset(gpu(), [tooMany], problem.model.basis, 'train')).rejects.toThrow(
      /train\[2\]\[4\]\[0\] is 65536 spikes in one bin; counts are stored in 16 bits \(at most 65535 per bin\): use narrower bins/,
    );
  });
});

describe('sizing', () => {
  const problem = makeProblem('FB', 'exponential', { bins: 40, sequences: 6 });
  const spec = {
    layout: problem.layout,
    basis: problem.model.basis,
    method: problem.method,
    slots: 4,
    samples: 2,
    stepsPerEpoch: 2,
    noise: 'philox' as const,
    mode: 'train' as const,
    purpose: NoisePurpose.train,
  };

  it('fits as many models as whole minibatches allow, else one model in chunks of sequences, else says why', () => {
    const one = workspaceBytes({ ...spec, models: 1 }, 40);
    const oneSlot = workspaceBytes({ ...spec, models: 1, chunkSlots: 1 }, 40);
    // The most models whose workspace fits: ws(m) <= bytes < ws(m + 1).
    const three = workspaceBytes({ ...spec, models: 3 }, 40);
    expect(planJobs(spec, 40, 10, three, false)).toEqual({ modelsPerJob: 3, chunkSlots: 4, chunks: 1 });
    expect(planJobs(spec, 40, 10, three - 1, false)).toEqual({ modelsPerJob: 2, chunkSlots: 4, chunks: 1 });
    expect(planJobs(spec, 40, 2, 100 * one, false)).toEqual({ modelsPerJob: 2, chunkSlots: 4, chunks: 1 });
    expect(planJobs(spec, 40, 10, one - 1, false)).toEqual({ modelsPerJob: 1, chunkSlots: 3, chunks: 2 });
    expect(planJobs(spec, 40, 10, oneSlot, false)).toEqual({ modelsPerJob: 1, chunkSlots: 1, chunks: 4 });
    expect(() => planJobs(spec, 40, 10, oneSlot - 1, false)).toThrow(
      /one sequence of one FB\/exponential model \(3 visible \+ 2 hidden neurons, 40 bins, 2 samples\) needs \d+ bytes of workspace, over the device's limit of \d+ bytes per buffer: use fewer Monte Carlo samples or shorter sequences/,
    );
    // A staged dataset bounds a chunk by the rows its staging buffer holds.
    expect(planJobs(spec, 40, 10, 100 * one, true).modelsPerJob).toBeLessThan(100);
  });

  it('fitMany runs a fit whose minibatch outgrows a buffer in chunks, says so, and gets the unchunked result', async () => {
    // 8 samples: enough per-sample workspace that a chunk of 2 sequences outgrows the data's one buffer (the fused
    // path that this small model takes keeps little per sample).
    const job = { train: problem.sequences, hidden: 2, scheme: 'FB' as const, method: 'exponential' as const, epochs: 2, batchSize: 4, samples: 8, seed: 9 };
    const notes: string[] = [];
    const [whole] = await fitMany([job], { session: gpu() });
    const limit = workspaceBytes({ ...spec, samples: 8, basis: whole.model.basis, models: 1, chunkSlots: 2 }, 40);
    const [chunked] = await fitMany([job], { session: gpu(), maxJobBytes: limit, onProgress: (progress) => progress.note && notes.push(progress.note) });
    expect(notes[0]).toMatch(/each minibatch in 2 chunks of 2 sequences, to stay within \d+ bytes per buffer/);
    // Every stage runs per chunk but Adam and its commit, once per step.
    expect(chunked.dispatchesPerStep).toBe(2 * (whole.dispatchesPerStep - 2) + 2);
    expect(largestDifference(chunked.model.generative.weight.flat(), whole.model.generative.weight.flat())).toBeLessThan(2e-5);
    expect(largestDifference(chunked.model.variational!.forwardWeight.flat(), whole.model.variational!.forwardWeight.flat())).toBeLessThan(2e-5);
    chunked.elboHistory.forEach((elbo, epoch) => expect(Math.abs(elbo - whole.elboHistory[epoch])).toBeLessThan(1e-5 * Math.abs(elbo)));
  });

  it('fitMany holds a dataset over the limit in several buffers, says so, and gets the same fit', async () => {
    const many = makeProblem('FB', 'exponential', { bins: 40, sequences: 30, seed: 4 });
    const job = { train: many.sequences, hidden: 2, scheme: 'FB' as const, method: 'exponential' as const, epochs: 1, batchSize: 2, samples: 2, seed: 5 };
    const [whole] = await fitMany([job], { session: gpu() });
    // Room for one model's whole minibatch, but only for some of the 30 rows of data per buffer.
    const limit = workspaceBytes({ ...spec, slots: 2, stepsPerEpoch: 15, basis: whole.model.basis, models: 1 }, 40);
    const notes: string[] = [];
    const [staged] = await fitMany([job], { session: gpu(), maxJobBytes: limit, onProgress: (progress) => progress.note && notes.push(progress.note) });
    expect(notes[0]).toMatch(/the training data in \d+ buffers, staged per minibatch/);
    expect(notes[0]).not.toMatch(/chunks/);
    // The same rows in the same order: the same arithmetic, bit for bit.
    expect(staged.model.generative).toEqual(whole.model.generative);
    expect(staged.elboHistory).toEqual(whole.elboHistory);
    // Kept in host memory (data a device cannot hold), each minibatch's rows written as it runs: the same fit.
    const [hosted] = await fitMany([job], { session: gpu(), dataPlacement: 'host' });
    expect(hosted.model.generative).toEqual(whole.model.generative);
    expect(hosted.elboHistory).toEqual(whole.elboHistory);
  });
});
