// Every WebGPU failure becomes one of these, thrown or rejected, naming the kernel and what went wrong.

export class GpuError extends Error {
  constructor(
    message: string,
    /** The kernel (program name) the failure belongs to, when there is one. */
    readonly kernel?: string,
  ) {
    super(kernel ? `[${kernel}] ${message}` : message);
    this.name = 'GpuError';
  }
}

/** WGSL that does not compile; the message lists each error as file:line with the offending line. */
export class ShaderCompileError extends GpuError {
  constructor(message: string, kernel: string) {
    super(message, kernel);
    this.name = 'ShaderCompileError';
  }
}

/** A WebGPU validation, out-of-memory or internal error caught by an error scope or the uncaptured-error event. */
export class GpuValidationError extends GpuError {
  constructor(message: string, kernel?: string) {
    super(message, kernel);
    this.name = 'GpuValidationError';
  }
}

export class DeviceLostError extends GpuError {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

/** A request the device cannot serve as asked: names the limit, what was needed, and what the device allows. */
export class DeviceLimitError extends GpuError {
  constructor(
    message: string,
    readonly limit: string,
    readonly needed: number,
    readonly allowed: number,
  ) {
    super(message);
    this.name = 'DeviceLimitError';
  }
}

/** Bad values handed to a kernel (uniforms, bindings) — a bug in the caller, reported before anything runs. */
export class KernelArgumentError extends GpuError {
  constructor(message: string, kernel: string) {
    super(message, kernel);
    this.name = 'KernelArgumentError';
  }
}
