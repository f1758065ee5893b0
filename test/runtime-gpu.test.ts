// The runtime on a real device: every shader compiles, WebGPU failures become thrown errors that name the kernel
// and the source line, an application's device can be adopted, and a Node process that used the GPU exits by itself.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BufferUsage } from '../src/gpu/constants.js';
import { GpuContext } from '../src/gpu/device.js';
import { DeviceLostError, GpuValidationError, KernelArgumentError, ShaderCompileError } from '../src/gpu/errors.js';
import { KernelRuntime } from '../src/gpu/kernel.js';
import { listShaderFiles, resolveShader } from '../src/shaders/include.js';
import { useGpuSession } from './helpers/gpu.js';

const gpu = useGpuSession();

const ADD_ONE = `
//#include "grid.wgsl"
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
override workgroupSize: u32 = 64u;
@compute @workgroup_size(workgroupSize)
fn addOne(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
          @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  if (index < params.count) { values[index] += 1.0; }
}`;

describe('shaders on the device', () => {
  it.each(listShaderFiles())('%s compiles on its own with no errors or warnings', async (file) => {
    const module = gpu().context.device.createShaderModule({ code: resolveShader(file).code });
    const info = await module.getCompilationInfo();
    expect(info.messages.map((message) => `${message.type}: ${message.message}`)).toEqual([]);
  });
});

describe('errors become exceptions', () => {
  it('reports WGSL that does not compile as file:line with the line', async () => {
    const runtime = new KernelRuntime(gpu().context);
    runtime.addShaderSource('broken.wgsl', '//#include "special.wgsl"\n@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefinedThing;\n}\n');
    const error = await runtime.bind({ name: 'broken', shader: 'broken.wgsl', entryPoint: 'main', workgroupSize: 1 }, { buffers: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(ShaderCompileError);
    expect(error.message).toMatch(/\[broken\]/);
    expect(error.message).toMatch(/broken\.wgsl:4: .*undefinedThing/);
    expect(error.message).toMatch(/let x: f32 = undefinedThing;/);
  });

  it('checks entry points, overrides, buffers and uniforms before anything runs', async () => {
    const runtime = new KernelRuntime(gpu().context);
    runtime.addShaderSource('add_one.wgsl', ADD_ONE);
    const values = gpu().context.createStorage('values', 64);
    const program = { name: 'addOne', shader: 'add_one.wgsl', entryPoint: 'addOne', workgroupSize: 64 };
    await expect(runtime.bind({ ...program, entryPoint: 'nope' }, { buffers: { values } })).rejects.toThrow(/no compute entry point "nope"/);
    await expect(runtime.bind({ ...program, constants: { tileSize: 4 } }, { buffers: { values } })).rejects.toThrow(/declares no override "tileSize"/);
    await expect(runtime.bind(program, { buffers: {}, uniforms: { count: 1 } })).rejects.toThrow(/storage buffer "values" was not given/);
    await expect(runtime.bind(program, { buffers: { values, extra: values }, uniforms: { count: 1 } })).rejects.toThrow(KernelArgumentError);
    await expect(runtime.bind(program, { buffers: { values }, uniforms: { count: -2 } })).rejects.toThrow(/Params\.count is u32/);
    await expect(runtime.bind({ ...program, workgroupSize: 100_000 }, { buffers: { values }, uniforms: { count: 1 } })).rejects.toThrow(
      /exceeds the device's maxComputeWorkgroupSizeX \d+ or maxComputeInvocationsPerWorkgroup \d+/,
    );
    gpu().context.release(values);
  });

  it('runs an application kernel through the runtime and reuses its pipeline', async () => {
    const runtime = new KernelRuntime(gpu().context);
    runtime.addShaderSource('add_one.wgsl', ADD_ONE);
    const values = gpu().context.upload('values', new Float32Array([1, 2, 3, 4, 5]));
    const program = { name: 'addOne', shader: 'add_one.wgsl', entryPoint: 'addOne', workgroupSize: 64 };
    const first = await runtime.bind(program, { buffers: { values }, uniforms: { count: 5 } });
    const second = await runtime.bind(program, { buffers: { values }, uniforms: { count: 3 } });
    // The cache hands back the very same pipeline object (toEqual would pass for two distinct native objects).
    expect((await runtime.pipeline(program)).pipeline).toBe((await runtime.pipeline(program)).pipeline);
    await runtime.submit('add', (pass) => {
      first.encode(pass, first.dispatchFor(5));
      second.encode(pass, second.dispatchFor(3));
    });
    expect(Array.from(await gpu().context.readF32(values))).toEqual([3, 4, 5, 5, 6]);
    gpu().context.release(values);
  });

  it('surfaces a validation error from a submitted step: at the next GPU call, or at once in debug mode', async () => {
    for (const debug of [false, true]) {
      // A device of its own: the error must not reach the file's shared session.
      const context = await GpuContext.create({ debug });
      const runtime = new KernelRuntime(context);
      runtime.addShaderSource('add_one.wgsl', ADD_ONE);
      const values = context.createStorage('values', 64);
      const kernel = await runtime.bind({ name: 'addOne', shader: 'add_one.wgsl', entryPoint: 'addOne', workgroupSize: 64 }, { buffers: { values }, uniforms: { count: 4 } });
      values.destroy();
      const step = runtime.submit('step with a destroyed buffer', (pass) => kernel.encode(pass, [1, 1, 1]), ['addOne']);
      if (debug) {
        await expect(step).rejects.toThrow(GpuValidationError);
        await expect(step).rejects.toThrow(/\[addOne\] running step with a destroyed buffer: .*used in submit while destroyed/);
      } else {
        await step;
        await expect(context.finish('the step')).rejects.toThrow(/the step: WebGPU reported 1 error\(s\): .*used in submit while destroyed/);
      }
      context.destroy();
    }
  });

  it('adopts an application\'s device, leaves it alive, and reports its loss as DeviceLostError', async () => {
    const owner = await GpuContext.create();
    const adopted = await GpuContext.create({ device: owner.device });
    expect(adopted.ownsDevice).toBe(false);
    const buffer = adopted.upload('x', new Float32Array([1, 2]));
    expect(Array.from(await adopted.readF32(buffer))).toEqual([1, 2]);
    adopted.destroy();
    const still = owner.createBuffer('still alive', 16, BufferUsage.STORAGE);
    expect(still.size).toBe(16);
    const second = await GpuContext.create({ device: owner.device });
    owner.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(() => second.checkHealth('after loss')).toThrow(DeviceLostError);
  });

  it('refuses buffers over the device limits, naming the buffer and the limit', () => {
    const limit = gpu().context.limits.maxStorageBufferBindingSize;
    expect(() => gpu().context.createStorage('huge', limit + 16)).toThrow(/buffer "huge" needs .* maxStorageBufferBindingSize/);
  });
});

describe('process lifetime', () => {
  it('a Node process that used the GPU exits by itself when its work is done', () => {
    const entry = new URL('../dist/index.js', import.meta.url);
    expect(existsSync(entry), 'run `npm run build` first (npm test does)').toBe(true);
    const script = `
      import { GpuSession, simulateOnDevice } from ${JSON.stringify(entry.href)};
      const session = await GpuSession.open();
      const result = await simulateOnDevice(session, { models: [{ weight: [[0.5]], bias: [0] }], basis: [1], sequences: 3, bins: 20, seeds: 1 });
      session.destroy();
      console.log('simulated', result.spikes.length);
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000, encoding: 'utf8' });
    expect(output).toMatch(/simulated 60/);
  });
});
