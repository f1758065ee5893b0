// The library inside an application's WebGPU code, in Node: counts given as typed arrays and as a GPUBuffer of the
// application's own device fit exactly as nested arrays do; the parameters and the posterior come back as typed
// arrays and as buffers that the application's own compute kernel reads; per-epoch models for live views; and
// ownership: the library never destroys what the application owns, and release() frees what it made.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { fit, fitMany, type FitEpoch, type FitSettings } from '../src/api/fit.js';
import { inferHiddenArrays } from '../src/api/infer.js';
import { syntheticDataset } from '../src/api/synthetic.js';
import { evaluate } from '../src/api/evaluate.js';
import { fitResultArrays, modelParams, modelToBuffer, posteriorToBuffer, RETURNED_BUFFER_USAGE } from '../src/api/device-buffers.js';
import { countArrayToNested, type CountArray } from '../src/api/counts.js';
import { GpuSession } from '../src/engine/session.js';
import { BufferUsage, MapMode } from '../src/gpu/constants.js';
import { DataError } from '../src/model/data.js';

const SETTINGS: FitSettings = { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 3, batchSize: 4, samples: 3, seed: 5 };

/** The application's own device, made as an app would, with nothing of the library's. */
async function appDevice(): Promise<{ device: GPUDevice; keep: unknown[] }> {
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter for the application device');
  // Dawn frees its instance when the JS object is collected, even with a device alive: keep both referenced.
  return { device: await adapter.requestDevice(), keep: [gpu, adapter] };
}

/** What an application does to read a buffer: copy into a mappable one and map it. */
async function appRead(device: GPUDevice, source: GPUBuffer, bytes: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MapMode.READ);
  const data = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return data;
}

// The application's kernel: out[i] = 2 * input[offset + i] + 1, over `count` words of a buffer the library returned.
const APP_KERNEL = /* wgsl */ `
struct Range { offset: u32, count: u32 }
@group(0) @binding(0) var<storage, read> source: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: array<f32>;
@group(0) @binding(2) var<uniform> range: Range;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= range.count) { return; }
  result[id.x] = 2.0 * source[range.offset + id.x] + 1.0;
}`;

/** Runs APP_KERNEL in the application's own pipeline and pass over `count` words of `source` from `offset`. */
async function appKernel(device: GPUDevice, source: GPUBuffer, offset: number, count: number): Promise<{ values: Float32Array; error: GPUError | null }> {
  device.pushErrorScope('validation');
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: APP_KERNEL }), entryPoint: 'main' } });
  const result = device.createBuffer({ size: Math.max(16, count * 4), usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
  const range = device.createBuffer({ size: 16, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
  device.queue.writeBuffer(range, 0, new Uint32Array([offset, count, 0, 0]));
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: source } },
      { binding: 1, resource: { buffer: result } },
      { binding: 2, resource: { buffer: range } },
    ],
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(count / 64));
  pass.end();
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  const values = error ? new Float32Array(0) : await appRead(device, result, count * 4);
  result.destroy();
  range.destroy();
  return { values, error };
}

/** Nested counts flattened into a typed array of the given kind. */
function typed(counts: number[][][], Kind: Uint8ArrayConstructor | Uint16ArrayConstructor | Float32ArrayConstructor): CountArray {
  const [S, T, V] = [counts.length, counts[0].length, counts[0][0].length];
  const data = new Kind(S * T * V);
  counts.forEach((sequence, s) => sequence.forEach((bin, t) => bin.forEach((count, v) => (data[(s * T + t) * V + v] = count))));
  return { data, shape: [S, T, V] };
}

describe('the library in a WebGPU application (Node)', () => {
  let app: { device: GPUDevice; keep: unknown[] };
  let session: GpuSession;
  let train: number[][][];

  beforeAll(async () => {
    app = await appDevice();
    session = await GpuSession.open({ device: app.device });
    console.log(`GPU tests on: ${session.adapter}`);
    train = (await syntheticDataset(0, { sequences: 12, trainSequences: 8, bins: 40 }, session)).train.visible;
  });

  afterAll(() => {
    session?.destroy();
    app?.device.destroy();
  });

  it('fits counts from Uint8Array, Uint16Array and Float32Array exactly as from nested arrays', async () => {
    const nested = await fit(train, SETTINGS, { session });
    for (const Kind of [Uint8Array, Uint16Array, Float32Array]) {
      const result = await fit(typed(train, Kind), SETTINGS, { session });
      expect(result.model.generative, Kind.name).toEqual(nested.model.generative);
      expect(result.model.variational, Kind.name).toEqual(nested.model.variational);
      expect(result.elboHistory, Kind.name).toEqual(nested.elboHistory);
    }
    expect(countArrayToNested('train', typed(train, Uint16Array))).toEqual(train);
  });

  it("fits counts from the application's GPUBuffer as from nested arrays, and leaves that buffer to the application", async () => {
    const counts = { data: new Float32Array(train.flat(2)), shape: [8, 40, 3] as const };
    const bytes = counts.data.byteLength;
    // The app's buffer: its counts after 16 bytes of its own data, as storage the app also uses in its own kernels.
    const buffer = app.device.createBuffer({ label: 'app counts', size: bytes + 16, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    app.device.queue.writeBuffer(buffer, 16, counts.data);
    const fromBuffer = await fit({ buffer, shape: counts.shape, format: 'f32', byteOffset: 16 }, SETTINGS, { session });
    const nested = await fit(train, SETTINGS, { session });
    expect(fromBuffer.model.generative).toEqual(nested.model.generative);
    expect(fromBuffer.model.variational).toEqual(nested.model.variational);
    expect(fromBuffer.elboHistory).toEqual(nested.elboHistory);
    // u32 counts too, and evaluate and infer take the buffer as well.
    const words = app.device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    app.device.queue.writeBuffer(words, 0, Uint32Array.from(counts.data));
    const posteriorFromBuffer = await inferHiddenArrays(nested.model, { buffer: words, shape: counts.shape, format: 'u32' }, { session, samples: 4 });
    const posterior = await inferHiddenArrays(nested.model, train, { session, samples: 4 });
    expect(posteriorFromBuffer.means).toEqual(posterior.means);
    const scored = await evaluate(nested.model, { buffer: words, shape: counts.shape, format: 'u32' }, { session, samples: 16 });
    expect(scored.testMarginalLogLikelihood).toBe((await evaluate(nested.model, train, { session, samples: 16 })).testMarginalLogLikelihood);
    // The library read the app's buffers and left them alone: they still hold the app's counts.
    expect(Array.from(await appRead(app.device, buffer, bytes + 16)).slice(4)).toEqual(Array.from(counts.data));
    buffer.destroy();
    words.destroy();
  });

  it("returns parameters and posterior means in buffers that the application's own kernel reads", async () => {
    const result = await fit(train, SETTINGS, { session });
    const arrays = fitResultArrays(result);
    expect(arrays.elboHistory).toEqual(Float64Array.from(result.elboHistory));
    const { layout, params } = arrays;
    // The layout is the model JSON's matrices, row-major: W[n][m] at weightOffset + n * N + m, and so on.
    const N = layout.neurons;
    expect(params[layout.weightOffset + 1 * N + 3]).toBe(Math.fround(result.model.generative.weight[1][3]));
    expect(params[layout.biasOffset + 4]).toBe(Math.fround(result.model.generative.bias[4]));
    expect(params[layout.backwardOffset + 1 * layout.visible + 2]).toBe(Math.fround(result.model.variational!.backwardWeight![1][2]));
    expect(params[layout.variationalBiasOffset + 1]).toBe(Math.fround(result.model.variational!.bias[1]));

    const model = modelToBuffer(session, result.model, { usage: BufferUsage.UNIFORM });
    expect(model.buffer.usage).toBe(RETURNED_BUFFER_USAGE | BufferUsage.UNIFORM);
    expect(model.byteLength).toBe(layout.total * 4);
    // The app's kernel reads the generative bias out of the library's buffer.
    const bias = await appKernel(app.device, model.buffer, layout.biasOffset, N);
    expect(bias.error).toBeNull();
    expect(Array.from(bias.values)).toEqual(result.model.generative.bias.map((b) => Math.fround(2 * Math.fround(b) + 1)));

    const posterior = await inferHiddenArrays(result.model, train, { session, samples: 4 });
    const means = posteriorToBuffer(session, posterior);
    expect([means.sequences, means.bins, means.hidden]).toEqual([8, 40, 2]);
    const read = await appKernel(app.device, means.buffer, 0, posterior.means.length);
    expect(read.error).toBeNull();
    expect(Array.from(read.values)).toEqual(Array.from(posterior.means, (m) => Math.fround(2 * Math.fround(m) + 1)));

    // release() frees the library's buffer: the app's kernel can no longer bind it. Twice is harmless.
    model.release();
    model.release();
    expect(model.released).toBe(true);
    expect((await appKernel(app.device, model.buffer, layout.biasOffset, N)).error?.message).toMatch(/destroyed/i);
    means.release();
    expect(modelParams(result.model).params).toEqual(params);
  });

  it('reports every fit after every epoch, with the model it has then, and fits the same with or without it', async () => {
    const events: FitEpoch[] = [];
    const jobs = [
      { ...SETTINGS, train, label: 'poglm' },
      { ...SETTINGS, hidden: 0, train, label: 'glm' },
      { ...SETTINGS, seed: 6, train: typed(train, Uint8Array), label: 'poglm seed 6' },
    ];
    const watched = await fitMany(jobs, { session, onEpoch: (event) => void events.push(event) });
    const plain = await fitMany(jobs, { session });
    expect(watched.map((result) => result.model)).toEqual(plain.map((result) => result.model));
    // Three epochs of each of the three fits, the GLM's under its own index.
    expect(events.map((event) => `${event.index}:${event.epoch}`).sort()).toEqual(['0:1', '0:2', '0:3', '1:1', '1:2', '1:3', '2:1', '2:2', '2:3']);
    for (const [index, result] of watched.entries()) {
      const mine = events.filter((event) => event.index === index);
      expect(mine.map((event) => event.label)).toEqual([jobs[index].label, jobs[index].label, jobs[index].label]);
      expect(mine.map((event) => event.elbo)).toEqual(result.elboHistory);
      expect(mine.every((event) => event.epochs === 3)).toBe(true);
      // The last epoch's model is the fitted one; earlier ones differ from it (training moved).
      expect(mine[2].model.generative).toEqual(result.model.generative);
      expect(mine[2].model.variational).toEqual(result.model.variational);
      expect(mine[0].model.generative).not.toEqual(result.model.generative);
      expect(mine[2].model.training).toBeUndefined();
    }
  });

  it('refuses bad typed arrays and buffers with errors that name the input and the fix, and leaves the device usable', async () => {
    const counts = typed(train, Float32Array);
    const refused = (promise: Promise<unknown>) => expect(promise).rejects.toThrow(DataError);
    await expect(fit({ data: counts.data, shape: [8, 40, 4] }, SETTINGS, { session })).rejects.toThrow(/train\.data has 960 entries but its shape 8 x 40 x 4 needs 1280/);
    await expect(fit({ data: new Int8Array(960) as never, shape: [8, 40, 3] }, SETTINGS, { session })).rejects.toThrow(/train\.data is a typed array .*Uint8Array, Uint16Array, Uint32Array or Float32Array/);
    await expect(fit({ data: counts.data, shape: [8, 40.5, 3] as never }, SETTINGS, { session })).rejects.toThrow(/train\.shape\[1\] is 40\.5/);
    const bad = Float32Array.from(counts.data);
    bad[3 * 3 + 1] = 1.5;
    await expect(fit({ data: bad, shape: counts.shape }, SETTINGS, { session })).rejects.toThrow(/train\[0\]\[3\]\[1\]/);

    const storageOnly = app.device.createBuffer({ size: counts.data.byteLength, usage: BufferUsage.STORAGE });
    await expect(fit({ buffer: storageOnly, shape: counts.shape, format: 'f32' }, SETTINGS, { session })).rejects.toThrow(/train\.buffer .*lacks GPUBufferUsage\.COPY_SRC/);
    const small = app.device.createBuffer({ size: 64, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
    await expect(fit({ buffer: small, shape: counts.shape, format: 'f32' }, SETTINGS, { session })).rejects.toThrow(/has 64 bytes, but 8 x 40 x 3 counts at byte 0 need 3840/);
    await expect(fit({ buffer: small, shape: [1, 2, 2], format: 'f32', byteOffset: 2 }, SETTINGS, { session })).rejects.toThrow(/byteOffset is 2/);
    await expect(fit({ buffer: small, shape: [1, 2, 2], format: 'f16' as never }, SETTINGS, { session })).rejects.toThrow(/format is the string "f16"/);
    await expect(fit({ buffer: small, shape: [1, 2, 2] } as never, SETTINGS, { session })).rejects.toThrow(/train\.format is undefined: give 'f32' or 'u32'/);
    // Without a session the library cannot know the buffer's device.
    await expect(fit({ buffer: small, shape: [1, 2, 2], format: 'f32' }, SETTINGS)).rejects.toThrow(/train is a GPUBuffer: pass options\.session/);
    const gone = app.device.createBuffer({ size: counts.data.byteLength, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
    gone.destroy();
    await refused(fit({ buffer: gone, shape: counts.shape, format: 'f32' }, SETTINGS, { session }));
    await expect(fit({ buffer: gone, shape: counts.shape, format: 'f32' }, SETTINGS, { session })).rejects.toThrow(/train\.buffer cannot be read on the session's device/);
    // A bad item among many is named by its index.
    await expect(fitMany([{ ...SETTINGS, train }, { ...SETTINGS, train: { data: counts.data, shape: [1, 1, 1] } }], { session })).rejects.toThrow(/jobs\[1\]\.train\.data has 960 entries/);
    storageOnly.destroy();
    small.destroy();
    // The session still works after the refusals.
    expect((await fit(counts, { ...SETTINGS, epochs: 1 }, { session })).elboHistory).toHaveLength(1);
  });

  it("leaves the application's device alive when the session on it is destroyed", async () => {
    const second = await GpuSession.open({ device: app.device });
    const model = modelToBuffer(second, (await fit(train, { ...SETTINGS, epochs: 1 }, { session: second })).model);
    second.destroy();
    // The session freed what it made (its returned buffers too) and nothing of the application's.
    expect((await appKernel(app.device, model.buffer, 0, 4)).error?.message).toMatch(/destroyed/i);
    const mine = app.device.createBuffer({ size: 16, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    app.device.queue.writeBuffer(mine, 0, new Float32Array([1, 2, 3, 4]));
    expect(Array.from((await appKernel(app.device, mine, 0, 4)).values)).toEqual([3, 5, 7, 9]);
    mine.destroy();
  });

  it('runs the minimal app of docs/apps.md as written, through the built package', () => {
    // docs/apps/minimal.mjs imports 'poglm-gpu' by name (the package resolves itself through its exports).
    const output = execFileSync(process.execPath, ['docs/apps/minimal.mjs'], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8', timeout: 120_000 });
    const lines = output.trim().split('\n').map((line) => JSON.parse(line));
    const epochs = lines.filter((line) => 'epoch' in line);
    expect(epochs.map((line) => line.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(epochs[4].elbo).toBeGreaterThan(epochs[0].elbo);
    const { fromKernel, fromModel } = lines.at(-1);
    expect(fromKernel).toHaveLength(5);
    // exp in the kernel's f32 against float64 exp of the same f32 bias: a few ulps.
    fromKernel.forEach((rate: number, n: number) => expect(Math.abs(rate - fromModel[n])).toBeLessThan(1e-6 * fromModel[n]));
  });
});
