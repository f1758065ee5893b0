// The worker protocol (src/worker/) on Node's real GPU: FitWorker on one end of a MessageChannel, serveFits on the
// other with this file's session, so every message is structured-cloned (and buffers transferred) as between a page
// and its Worker. Results must equal the same calls made directly, errors must carry the same class and message, and
// an abort must stop a fit as the app's own AbortSignal does. The page itself, in Chromium: test/live-page.test.ts.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fit, fitMany, NonFiniteError, type FitEpoch, type FitProgress, type FitSettings } from '../src/api/fit.js';
import { inferHiddenArrays } from '../src/api/infer.js';
import { syntheticDataset } from '../src/api/synthetic.js';
import { DataError } from '../src/model/data.js';
import { FitWorker, type WorkerLike } from '../src/worker/client.js';
import { serveFits, type FitServer } from '../src/worker/serve.js';
import { packCounts } from '../src/worker/wire-counts.js';
import { errorFromWire, errorToWire } from '../src/worker/wire-errors.js';
import { useGpuSession } from './helpers/gpu.js';

const SETTINGS = { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 3, batchSize: 4, samples: 3, seed: 5 } satisfies FitSettings;

/** What a rejected promise rejected with. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the promise resolved, but it should have rejected');
}

describe('the worker protocol (FitWorker <-> serveFits over a MessageChannel)', () => {
  const gpu = useGpuSession();
  let ports: { app: MessagePort; worker: MessagePort };
  let server: FitServer;
  let worker: FitWorker;
  let train: number[][][];

  beforeAll(async () => {
    const channel = new MessageChannel();
    ports = { app: channel.port1, worker: channel.port2 };
    server = serveFits(ports.worker as never, { session: gpu() });
    worker = new FitWorker(ports.app as unknown as WorkerLike);
    train = (await syntheticDataset(0, { sequences: 12, trainSequences: 8, bins: 60 }, gpu())).train.visible;
  });

  afterAll(() => {
    server?.close();
    ports?.app.close();
    ports?.worker.close();
  });

  it('packs plain nested counts into the smallest typed array and moves its buffer; leaves other input as it is', () => {
    const packed = packCounts('train', [[[0, 3], [1, 0]], [[2, 0], [0, 1]]]);
    expect(packed.wire).toEqual({ data: Uint8Array.of(0, 3, 1, 0, 2, 0, 0, 1), shape: [2, 2, 2] });
    expect(packed.transfer).toHaveLength(1);
    expect((packCounts('train', [[[70000]]]).wire as { data: unknown }).data).toBeInstanceOf(Uint32Array);
    expect((packCounts('train', [[[300]]]).wire as { data: unknown }).data).toBeInstanceOf(Uint16Array);
    // Not plain counts: crossed as given, so that the worker's fit names the problem in its own words.
    for (const bad of [[[[0, -1]]], [[[0.5]]], [[[1, 2], [3]]], [], [[]]]) expect(packCounts('train', bad as number[][][]).wire).toBe(bad);
    // An app's typed array is copied unless it says it may be moved.
    const own = { data: Uint8Array.of(1, 0), shape: [1, 1, 2] as const };
    expect(packCounts('train', own).transfer).toEqual([]);
    expect(packCounts('train', own, true).transfer).toEqual([own.data.buffer]);
  });

  it('rebuilds errors with their class, message and a NonFiniteError\'s fit', () => {
    const result = { model: {} as never, elboHistory: [1], steps: 1, epochsCompleted: 1, interrupted: false, dispatchesPerStep: 5 };
    const nonFinite = errorFromWire(errorToWire(new NonFiniteError('fit stopped: at step 3', result), false));
    expect(nonFinite).toBeInstanceOf(NonFiniteError);
    expect((nonFinite as NonFiniteError).result).toEqual(result);
    const data = errorFromWire(errorToWire(new DataError('train[0][1] is -1'), false));
    expect(data).toBeInstanceOf(DataError);
    expect([data.name, data.message]).toEqual(['DataError', 'train[0][1] is -1']);
    const other = errorFromWire({ name: 'ShaderCompileError', message: 'x.wgsl:3: bad' });
    expect([other.name, other.message]).toEqual(['ShaderCompileError', 'x.wgsl:3: bad']);
  });

  it('starts even when the worker\'s first ready came before the app listened', async () => {
    const channel = new MessageChannel();
    const late = serveFits(channel.port2 as never, { session: gpu() });
    // Something else takes the first 'ready' off the port before the FitWorker exists, as a Worker's is lost then.
    const first = await new Promise((resolve) => channel.port1.once('message', resolve));
    expect(first).toEqual({ type: 'ready', protocol: 'poglm-gpu.worker/1' });
    try {
      const wrapped = new FitWorker(channel.port1 as unknown as WorkerLike);
      expect((await wrapped.describe()).adapter).toBe(gpu().adapter);
    } finally {
      late.close();
      channel.port1.close();
    }
  });

  it('says where it runs: the session adapter, and that Node\'s main thread is no Worker scope', async () => {
    expect(await worker.describe()).toEqual({ adapter: gpu().adapter, inWorker: false });
  });

  it('fits as fit does, bit for bit, with a progress event and a model per epoch', async () => {
    const progress: FitProgress[] = [];
    const epochs: FitEpoch[] = [];
    const remote = await worker.fit({ train, ...SETTINGS, label: 'remote' }, { onProgress: (event) => progress.push(event), onEpoch: (event) => epochs.push(event) });
    const local = await fit(train, SETTINGS, { session: gpu() });
    expect(remote.elboHistory).toEqual(local.elboHistory);
    expect(remote.model.generative).toEqual(local.model.generative);
    expect(remote.model.variational).toEqual(local.model.variational);
    expect(remote.label).toBe('remote');
    // One event per epoch and one that ends the group (meanElbo null there), every other one finite.
    expect(progress.map((event) => event.epoch)).toEqual([1, 2, 3, 3]);
    expect(progress.slice(0, 3).every((event) => Number.isFinite(event.meanElbo))).toBe(true);
    expect(progress[3].meanElbo).toBeNull();
    expect(epochs.map((event) => [event.index, event.epoch, event.epochs, event.label])).toEqual([
      [0, 1, 3, 'remote'],
      [0, 2, 3, 'remote'],
      [0, 3, 3, 'remote'],
    ]);
    expect(epochs.map((event) => event.elbo)).toEqual(local.elboHistory);
    // The last epoch's model is the fitted model.
    expect(epochs[2].model.generative).toEqual(local.model.generative);
  });

  it('fits many as fitMany does, jobs that share counts sharing them', async () => {
    const jobs = [0, 1].map((seed) => ({ train, ...SETTINGS, epochs: 2, seed }));
    const remote = await worker.fitMany(jobs);
    const local = await fitMany(jobs, { session: gpu() });
    expect(remote.map((result) => result.model.generative)).toEqual(local.map((result) => result.model.generative));
    expect(remote[0].model.generative).not.toEqual(remote[1].model.generative);
  });

  it('refuses a bad job with the class and message fit gives in the app\'s own thread', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['a scheme that is none', { ...SETTINGS, scheme: 'XB' }],
      ['epochs of 0', { ...SETTINGS, epochs: 0 }],
      ['a negative count', { ...SETTINGS, train: [[[0, 1, -1]]] }],
      ['ragged bins', { ...SETTINGS, train: [train[0], train[1].slice(1)] }],
    ];
    for (const [what, job] of cases) {
      const given = { train, ...job } as never;
      const remote = await rejection(worker.fit(given));
      const { train: counts, ...settings } = given as { train: number[][][] };
      const local = await rejection(fit(counts, settings as never, { session: gpu() }));
      expect([remote.name, remote.message], what).toEqual([local.name, local.message]);
      expect(remote.constructor, what).toBe(local.constructor);
    }
  });

  it('stops at an abort with what it learned, as fit does with the app\'s signal', async () => {
    const controller = new AbortController();
    const epochs: number[] = [];
    const result = await worker.fit(
      { train, ...SETTINGS, epochs: 200 },
      { signal: controller.signal, onEpoch: (event) => (epochs.push(event.epoch), event.epoch === 2 && controller.abort()) },
    );
    expect(result.interrupted).toBe(true);
    expect(result.epochsCompleted).toBeGreaterThanOrEqual(2);
    expect(result.epochsCompleted).toBeLessThan(200);
    expect(result.elboHistory.every(Number.isFinite)).toBe(true);
    // Aborted before it starts: fit rejects with the signal's reason, and so does the worker's fit.
    const before = new AbortController();
    before.abort(new Error('stopped by the app'));
    expect(await rejection(worker.fit({ train, ...SETTINGS }, { signal: before.signal }))).toBe(before.signal.reason);
  });

  it('infers the hidden posterior as inferHiddenArrays does, its arrays moved back', async () => {
    const model = (await fit(train, SETTINGS, { session: gpu() })).model;
    const remote = await worker.inferHiddenArrays(model, train, { samples: 20 });
    const local = await inferHiddenArrays(model, train, { samples: 20, session: gpu() });
    expect(remote.means).toBeInstanceOf(Float64Array);
    expect([remote.sequences, remote.bins, remote.hidden]).toEqual([8, 60, 2]);
    expect(Array.from(remote.means)).toEqual(Array.from(local.means));
  });

  it('simulates the paper\'s synthetic set as syntheticDataset does', async () => {
    const options = { sequences: 6, trainSequences: 4, bins: 30 };
    const remote = await worker.syntheticDataset(3, options);
    const local = await syntheticDataset(3, options, gpu());
    expect(remote).toEqual(local);
  });

  it('refuses counts in a GPUBuffer before posting: the buffer belongs to this thread\'s device', async () => {
    const buffer = { buffer: { mapAsync: () => undefined } as unknown as GPUBuffer, shape: [1, 10, 3] as const, format: 'f32' as const };
    const error = await rejection(worker.fit({ train: buffer, ...SETTINGS }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/^train is a GPUBuffer, which belongs to this thread's device and cannot be sent to a worker/);
  });
});
