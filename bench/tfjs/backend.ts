// TensorFlow.js backends in Node for the baseline: the 'cpu' backend, and the 'webgpu' backend
// (@tensorflow/tfjs-backend-webgpu) on a Dawn device from the npm `webgpu` package — either a device of its own or
// one passed in (e.g. GpuSession.context.device, so that tfjs and the WGSL engine share one device).
//
// tfjs-backend-webgpu was written for browsers, so in Node it needs three things this helper provides, and only here
// (never in src/):
// - the WebGPU classes and flag objects as globals (GPUBuffer / GPUTexture for its `instanceof` checks,
//   GPUBufferUsage, GPUMapMode, GPUTextureUsage): installed from `globals` of the `webgpu` package, for good, since
//   the backend reads them on every op; names already defined are left alone;
// - `navigator.gpu`, which WebGPUBackend's constructor checks (it never uses it otherwise): defined only for the
//   duration of the constructor call and removed again, so src/gpu/device.ts keeps creating its own Dawn instance;
// - its own registration: the package's auto-registration runs only when navigator.gpu exists at import time, so
//   the backend is constructed here on the given device and registered under the name 'webgpu' (its kernels are
//   registered for that name at import).
// Dawn pitfall: Dawn's Node bindings free the native instance when the JS object returned by `create()` is
// garbage-collected, even while a device made from it lives (the process then aborts), so the GPU and adapter of
// every device created here stay in a module-level map until that device is destroyed.
import type * as tfc from '@tensorflow/tfjs-core';

type Tf = typeof tfc;

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: DawnModule | undefined;
/** GPU instance and adapter of every device created here, kept reachable until the device is destroyed. */
const keepAlive = new Map<GPUDevice, { gpu: GPU; adapter: GPUAdapter }>();

async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    const specifier = 'webgpu';
    dawn = (await import(/* @vite-ignore */ specifier)) as DawnModule;
  }
  return dawn;
}

/** Makes the WebGPU globals tfjs-backend-webgpu reads available (names already defined are kept). */
async function installWebgpuGlobals(): Promise<void> {
  const { globals } = await loadDawn();
  const host = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in host)) Object.defineProperty(host, name, { value, configurable: true, writable: true });
  }
}

/** Runs `body` with a truthy navigator.gpu, restoring the previous state afterwards. */
function withNavigatorGpu<T>(gpu: object, body: () => T): T {
  const host = globalThis as { navigator?: { gpu?: unknown } };
  if (host.navigator?.gpu) return body();
  if (host.navigator === undefined) {
    Object.defineProperty(host, 'navigator', { value: { gpu }, configurable: true, writable: true });
    try {
      return body();
    } finally {
      delete host.navigator;
    }
  }
  const navigatorObject = host.navigator;
  Object.defineProperty(navigatorObject, 'gpu', { value: gpu, configurable: true });
  try {
    return body();
  } finally {
    delete navigatorObject.gpu;
  }
}

/** Switches tfjs to its 'cpu' backend (pure JS, float32). */
export async function useCpuBackend(tf: Tf): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error("tfjs could not initialise its 'cpu' backend");
  await tf.ready();
}

export interface DawnDevice {
  device: GPUDevice;
  adapterInfo: GPUAdapterInfo | undefined;
  /** Destroys the device and lets its Dawn instance go. */
  destroy(): void;
}

/**
 * A Dawn device of its own, with the limits and features tfjs-backend-webgpu's browser registration asks for.
 * The caller destroys it (the process does not exit while it lives).
 */
export async function createDawnDevice(dawnOptions: string[] = []): Promise<DawnDevice> {
  const { create } = await loadDawn();
  const gpu = create(dawnOptions);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter (on Linux without a GPU, install Mesa lavapipe)');
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  keepAlive.set(device, { gpu, adapter });
  let destroyed = false;
  return {
    device,
    adapterInfo: adapter.info,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
      keepAlive.delete(device);
    },
  };
}

export interface WebgpuBackendHandle {
  /** The backend name registered with tfjs ('webgpu'). */
  name: string;
  device: GPUDevice;
  /**
   * Removes the backend from tfjs (disposing its buffers; tensors still on it become invalid), switches tfjs back
   * to 'cpu' if it was active, and destroys the device if this helper created it.
   */
  release(): Promise<void>;
}

/**
 * Registers tfjs's 'webgpu' backend on `device` (which the caller keeps owning) and makes it the active backend.
 * Any earlier backend of that name is removed first.
 */
export async function registerWebgpuBackend(
  tf: Tf,
  device: GPUDevice,
  options: { adapterInfo?: GPUAdapterInfo; name?: string } = {},
): Promise<WebgpuBackendHandle> {
  const name = options.name ?? 'webgpu';
  await installWebgpuGlobals();
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const adapterInfo = options.adapterInfo ?? (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const backend = withNavigatorGpu(keepAlive.get(device)?.gpu ?? {}, () => new WebGPUBackend(device, adapterInfo));
  if (tf.findBackendFactory(name)) tf.removeBackend(name);
  tf.registerBackend(name, () => backend, 3);
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not switch to the '${name}' backend`);
  await tf.ready();
  let released = false;
  return {
    name,
    device,
    async release() {
      if (released) return;
      released = true;
      const active = tf.getBackend() === name;
      tf.removeBackend(name);
      if (active) await useCpuBackend(tf);
    },
  };
}

/** The 'webgpu' backend on a Dawn device of its own, made active; release() also destroys the device. */
export async function useWebgpuBackend(tf: Tf, dawnOptions: string[] = []): Promise<WebgpuBackendHandle> {
  const owned = await createDawnDevice(dawnOptions);
  try {
    const handle = await registerWebgpuBackend(tf, owned.device, { adapterInfo: owned.adapterInfo });
    return {
      ...handle,
      async release() {
        try {
          await handle.release();
        } finally {
          owned.destroy();
        }
      },
    };
  } catch (error) {
    owned.destroy();
    throw error;
  }
}
