// A GPU session: the context (device, errors, buffers) and the kernel runtime (pipeline cache) that every job of the
// library shares. Functions that take an optional session create a temporary one and destroy it when done.
import { GpuContext, type GpuContextOptions } from '../gpu/device.js';
export type { GpuContextOptions };
import { KernelRuntime } from '../gpu/kernel.js';

export class GpuSession {
  readonly runtime: KernelRuntime;
  private constructor(readonly context: GpuContext) {
    this.runtime = new KernelRuntime(context);
  }

  static async open(options: GpuContextOptions = {}): Promise<GpuSession> {
    return new GpuSession(await GpuContext.create(options));
  }

  get adapter(): string {
    return this.context.adapter.label;
  }

  destroy(): void {
    this.context.destroy();
  }
}

/** Runs `body` with the given session, or with a temporary one that is destroyed afterwards (also on error). */
export async function withSession<T>(session: GpuSession | undefined, body: (session: GpuSession) => Promise<T>): Promise<T> {
  if (session) return body(session);
  const temporary = await GpuSession.open();
  try {
    return await body(temporary);
  } finally {
    temporary.destroy();
  }
}
