// The smallest complete app: its own WebGPU device, spike counts in its own GPUBuffer, a fit watched epoch by epoch,
// and the fitted parameters read by its own compute kernel. Run it with `node docs/apps/minimal.mjs` after
// `npm run build` (the test suite runs it). In a browser, take the device from navigator.gpu instead of Dawn.
import { create } from 'webgpu';
import { BufferUsage, GpuSession, MapMode, fit, modelToBuffer, syntheticDataset } from 'poglm-gpu';

const gpu = create([]);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
const session = await GpuSession.open({ device }); // the library adopts the app's device; the app keeps owning it

// Counts as the app holds them: f32 words, [sequence][bin][neuron], in a buffer with COPY_SRC usage.
const { train } = await syntheticDataset(0, { sequences: 12, trainSequences: 8, bins: 50 }, session);
const shape = [train.visible.length, train.visible[0].length, train.visible[0][0].length];
const words = new Float32Array(train.visible.flat(2));
const counts = device.createBuffer({ size: words.byteLength, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
device.queue.writeBuffer(counts, 0, words);

const result = await fit(
  { buffer: counts, shape, format: 'f32' },
  { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 5, seed: 1 },
  { session, onEpoch: ({ epoch, elbo }) => console.log(JSON.stringify({ epoch, elbo })) },
);

// The parameters in a buffer of the device; the app's kernel turns each neuron's bias into its base rate exp(b).
const params = modelToBuffer(session, result.model);
const neurons = params.layout.neurons;
const module = device.createShaderModule({
  code: `@group(0) @binding(0) var<storage, read> params: array<f32>;
    @group(0) @binding(1) var<storage, read_write> rates: array<f32>;
    override biasOffset: u32;
    @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
      if (id.x < arrayLength(&rates)) { rates[id.x] = exp(params[biasOffset + id.x]); }
    }`,
});
const pipeline = device.createComputePipeline({
  layout: 'auto',
  compute: { module, entryPoint: 'main', constants: { biasOffset: params.layout.biasOffset } },
});
const rates = device.createBuffer({ size: neurons * 4, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
const readback = device.createBuffer({ size: neurons * 4, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
const encoder = device.createCommandEncoder();
const pass = encoder.beginComputePass();
pass.setPipeline(pipeline);
pass.setBindGroup(0, device.createBindGroup({
  layout: pipeline.getBindGroupLayout(0),
  entries: [{ binding: 0, resource: { buffer: params.buffer } }, { binding: 1, resource: { buffer: rates } }],
}));
pass.dispatchWorkgroups(1);
pass.end();
encoder.copyBufferToBuffer(rates, 0, readback, 0, neurons * 4);
device.queue.submit([encoder.finish()]);
await readback.mapAsync(MapMode.READ);
const fromKernel = Array.from(new Float32Array(readback.getMappedRange()));
console.log(JSON.stringify({ fromKernel, fromModel: result.model.generative.bias.map(Math.exp) }));

params.release(); // frees the library's buffer; session.destroy() would too
session.destroy(); // frees everything else the library made, and leaves the app's device and buffers alone
counts.destroy();
device.destroy();
