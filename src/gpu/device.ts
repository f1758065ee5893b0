// One way to get a GPUDevice in Node (Dawn, npm `webgpu`) and in browsers (`navigator.gpu`), or to adopt a device
// that a WebGPU application already has. The context turns every WebGPU failure into a thrown Error: compile and
// validation errors through error scopes, anything that slips past them through the uncaptured-error event
// (thrown by the next buffer creation, submission or read), and device loss through `device.lost`.
import { BufferUsage, MapMode } from './constants.js';
import { DeviceLimitError, DeviceLostError, GpuError, GpuValidationError } from './errors.js';

export interface GpuContextOptions {
  /** Adopt this device instead of creating one; the caller keeps ownership and destroys it. */
  device?: GPUDevice;
  /** Adapter preference when creating a device. */
  powerPreference?: GPUPowerPreference;
  /**
   * Debug mode: every submitted step runs inside validation / out-of-memory / internal error scopes, and a
   * failure rejects that step's promise with the kernel's name. Costs a round trip per step.
   */
  debug?: boolean;
  /** Dawn toggles for Node, e.g. ["backend=vulkan"]; ignored in browsers. */
  dawnOptions?: string[];
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** "vendor architecture (description)" in one line, for logs and benchmark tables. */
  label: string;
}

// Limits we raise to what the adapter offers: the default 128 MiB per binding (and buffer size, workgroup counts)
// are below what large batched fits need, and asking costs nothing. Our kernels bind at most 5 storage buffers and
// use no workgroup memory; those two limits are raised for application kernels run through the same runtime.
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

interface NodeWebgpuModule {
  create(options: string[]): GPU;
}

async function nodeGpu(dawnOptions: string[]): Promise<GPU> {
  // A variable specifier keeps bundlers from pulling the native Dawn module into browser builds.
  const specifier = 'webgpu';
  let module: NodeWebgpuModule;
  try {
    module = (await import(/* @vite-ignore */ specifier)) as NodeWebgpuModule;
  } catch (error) {
    throw new GpuError(
      `no WebGPU here: navigator.gpu is missing and the Node package "webgpu" could not be loaded (${String(error)}). ` +
        'In Node, install the optional dependency Dawn with `npm install webgpu` (an install that left out optional ' +
        'dependencies has none); or run in a browser with WebGPU enabled.',
    );
  }
  return module.create(dawnOptions);
}

async function findGpu(dawnOptions: string[]): Promise<GPU> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  return browserGpu ?? nodeGpu(dawnOptions);
}

function describeAdapter(info: GPUAdapterInfo | undefined): AdapterDescription {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const head = [vendor, architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const tail = description || device;
  return { vendor, architecture, device, description, label: tail ? `${head} (${tail})` : head };
}

export class GpuContext {
  private lostReason: string | undefined;
  /** Settles when the device is lost (or destroyed): what waits on the GPU races it, so that a loss is seen at once. */
  private readonly lost: Promise<void>;
  private uncaptured: string[] = [];
  private readonly created = new Set<GPUBuffer>();
  /** Bytes asked for, before rounding up to 16: what a read returns by default. */
  private readonly requested = new WeakMap<GPUBuffer, number>();
  private destroyed = false;
  /**
   * The GPU instance and adapter the device came from. Dawn's Node bindings free the native instance when its JS
   * object is garbage-collected, even while a device made from it is alive (its event pump then touches freed
   * memory and the process aborts), so the context keeps them reachable until it is destroyed.
   */
  /** @internal */ keepAlive: unknown[] = [];

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    readonly ownsDevice: boolean,
    readonly debug: boolean,
  ) {
    this.lost = device.lost.then((info) => {
      if (!this.destroyed) this.lostReason = `${info.reason}: ${info.message}`;
    });
    device.addEventListener('uncapturederror', this.onUncapturedError);
  }

  private readonly onUncapturedError = (event: Event): void => {
    this.uncaptured.push((event as GPUUncapturedErrorEvent).error.message);
  };

  static async create(options: GpuContextOptions = {}): Promise<GpuContext> {
    if (options.device) {
      const info = (options.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
      return new GpuContext(options.device, describeAdapter(info), false, options.debug ?? false);
    }
    const gpu = await findGpu(options.dawnOptions ?? []);
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter) {
      throw new GpuError(
        'no WebGPU adapter was found. On Linux without a GPU install a Vulkan driver on the CPU ' +
          '(`bash scripts/setup.sh` installs Mesa lavapipe); in a browser enable WebGPU.',
      );
    }
    const requiredLimits: Record<string, number> = {};
    for (const name of RAISED_LIMITS) {
      const value = (adapter.limits as unknown as Record<string, number>)[name];
      if (typeof value === 'number') requiredLimits[name] = value;
    }
    const device = await adapter.requestDevice({ requiredLimits });
    const context = new GpuContext(device, describeAdapter(adapter.info), true, options.debug ?? false);
    context.keepAlive = [gpu, adapter];
    return context;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Throws if the device was lost or an error escaped every scope since the last check. */
  checkHealth(what: string): void {
    if (this.destroyed) throw new GpuError(`${what}: the GPU context was already destroyed`);
    if (this.lostReason) throw new DeviceLostError(`${what}: the GPU device was lost (${this.lostReason})`);
    if (this.uncaptured.length > 0) {
      const messages = this.uncaptured.splice(0);
      throw new GpuValidationError(`${what}: WebGPU reported ${messages.length} error(s): ${messages.join(' | ')}`);
    }
  }

  /** Checks a buffer size against the device's limits before asking for it, naming the buffer. */
  checkBufferSize(label: string, bytes: number, binding = true): void {
    const limit = binding ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    const allowed = binding
      ? Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize)
      : this.limits.maxBufferSize;
    if (bytes > allowed) {
      throw new DeviceLimitError(
        `buffer "${label}" needs ${bytes} bytes but the device's ${limit} is ${allowed} ` +
          `(${(bytes / allowed).toFixed(2)}x over); use fewer sequences, samples or models per job`,
        limit,
        bytes,
        allowed,
      );
    }
  }

  createBuffer(label: string, bytes: number, usage: number, binding = true): GPUBuffer {
    this.checkHealth(`creating buffer "${label}"`);
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    this.checkBufferSize(label, size, binding);
    const buffer = this.device.createBuffer({ label, size, usage });
    this.created.add(buffer);
    this.requested.set(buffer, bytes);
    return buffer;
  }

  /** A storage buffer that kernels read and write, and that can be copied in and out. */
  createStorage(label: string, bytes: number): GPUBuffer {
    return this.createBuffer(label, bytes, BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC);
  }

  /** A storage buffer filled with `data`. */
  upload(label: string, data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
    const buffer = this.createStorage(label, data.byteLength);
    this.write(buffer, data);
    return buffer;
  }

  write(buffer: GPUBuffer, data: Float32Array | Uint32Array | Int32Array, byteOffset = 0): void {
    if (data.byteLength === 0) return;
    if (byteOffset + data.byteLength > buffer.size) {
      throw new GpuError(`write of ${data.byteLength} bytes at ${byteOffset} overruns buffer "${buffer.label}" (${buffer.size} bytes)`);
    }
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  release(buffer: GPUBuffer | undefined): void {
    if (!buffer) return;
    if (this.created.delete(buffer)) buffer.destroy();
  }

  /** Copies `bytes` from `buffer` back to the host. */
  async readBytes(buffer: GPUBuffer, byteOffset = 0, bytes = this.logicalSize(buffer) - byteOffset): Promise<ArrayBuffer> {
    this.checkHealth(`reading "${buffer.label}"`);
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({
      label: `${buffer.label} (readback)`,
      size: Math.max(size, 4),
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    try {
      const encoder = this.device.createCommandEncoder({ label: `read ${buffer.label}` });
      encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
      this.device.queue.submit([encoder.finish()]);
      try {
        await this.raceLoss(staging.mapAsync(MapMode.READ), `reading "${buffer.label}"`);
      } catch (error) {
        if (error instanceof DeviceLostError) throw error;
        this.checkHealth(`reading "${buffer.label}"`);
        throw new GpuError(`reading "${buffer.label}" failed: ${String(error)}`);
      }
      const copy = staging.getMappedRange().slice(0, bytes);
      staging.unmap();
      this.checkHealth(`reading "${buffer.label}"`);
      return copy;
    } finally {
      staging.destroy();
    }
  }

  /** The size asked for when this context created the buffer, else the buffer's size. */
  logicalSize(buffer: GPUBuffer): number {
    return this.requested.get(buffer) ?? buffer.size;
  }

  async readF32(buffer: GPUBuffer, offsetElements = 0, count?: number): Promise<Float32Array> {
    const elements = count ?? Math.floor(this.logicalSize(buffer) / 4) - offsetElements;
    return new Float32Array(await this.readBytes(buffer, offsetElements * 4, elements * 4));
  }

  async readU32(buffer: GPUBuffer, offsetElements = 0, count?: number): Promise<Uint32Array> {
    const elements = count ?? Math.floor(this.logicalSize(buffer) / 4) - offsetElements;
    return new Uint32Array(await this.readBytes(buffer, offsetElements * 4, elements * 4));
  }

  /** Runs `body` inside validation, out-of-memory and internal error scopes; rejects with the first error. */
  async scoped<T>(what: string, kernel: string | undefined, body: () => T): Promise<T> {
    this.checkHealth(what);
    const device = this.device;
    device.pushErrorScope('internal');
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let result: T;
    try {
      result = body();
    } finally {
      const errors = await Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()]);
      const first = errors.find((error) => error !== null);
      if (first) throw new GpuValidationError(`${what}: ${first.message}`, kernel);
    }
    return result;
  }

  /** Waits for all submitted work; surfaces errors and device loss. */
  async finish(what = 'GPU work'): Promise<void> {
    await this.raceLoss(this.device.queue.onSubmittedWorkDone(), what);
    this.checkHealth(what);
  }

  /**
   * Waits for all submitted work like finish(), but rejects as soon as `signal` aborts (with its reason) or the
   * device is lost, without waiting for the queue to drain: a long job that submits in chunks calls it after each
   * one, so that a stop or a loss is seen within one chunk.
   */
  async settle(what: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.finish(what), aborted]);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** `work`, or a DeviceLostError as soon as the device is lost, whichever comes first. */
  private async raceLoss<T>(work: Promise<T>, what: string): Promise<T> {
    const loss = this.lost.then((): never => {
      throw new DeviceLostError(`${what}: the GPU device was lost (${this.lostReason ?? 'destroyed'})`);
    });
    // The loser of the race must not surface as an unhandled rejection.
    loss.catch(() => undefined);
    work.catch(() => undefined);
    return Promise.race([work, loss]);
  }

  /** Destroys every buffer this context created and, if it created the device, the device itself. */
  destroy(): void {
    if (this.destroyed) return;
    for (const buffer of this.created) buffer.destroy();
    this.created.clear();
    this.destroyed = true;
    // An adopted device lives on in the application: it must not keep calling into (and holding) this context.
    this.device.removeEventListener('uncapturederror', this.onUncapturedError);
    if (this.ownsDevice) this.device.destroy();
    this.keepAlive = [];
  }
}
