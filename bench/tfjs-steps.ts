// The TensorFlow.js baseline's training step (bench/tfjs/poglm-tfjs.ts), on tfjs's 'webgpu' backend (a Dawn device
// of its own on the same adapter as the WGSL engine, so a tfjs validation error cannot reach the engine's error
// checks) or its 'cpu' backend. A timed run of k steps enqueues k - 1 steps without reading anything back and reads
// the last step's loss, which waits for all k (tfjs runs a backend's work in order), like the WGSL engine's k steps
// in one submission followed by a wait.
import * as tf from '@tensorflow/tfjs';
import { useCpuBackend, useWebgpuBackend, type WebgpuBackendHandle } from './tfjs/backend.js';
import { createTfjsPoglm, type TfjsPoglm, type Tf } from './tfjs/poglm-tfjs.js';
import { initialParams } from '../src/model/schedule.js';
import { paramLayout } from '../src/model/params.js';
import type { Scheme } from '../src/model/types.js';
import { exponentialBasis } from '../src/model/basis.js';

export type TfjsEngine = 'tfjs-webgpu' | 'tfjs-cpu';

const tfCore = tf as unknown as Tf;

export interface TfjsBackend {
  engine: TfjsEngine;
  release(): Promise<void>;
}

/** Makes `engine` tfjs's active backend. */
export async function openTfjsBackend(engine: TfjsEngine, dawnOptions: string[] = []): Promise<TfjsBackend> {
  if (engine === 'tfjs-cpu') {
    await useCpuBackend(tfCore);
    return { engine, release: async () => undefined };
  }
  const handle: WebgpuBackendHandle = await useWebgpuBackend(tfCore, dawnOptions);
  return { engine, release: () => handle.release() };
}

export interface TfjsStepJob {
  run(steps: number): Promise<void>;
  /** Live tensors after the last step (a leak would show as growth). */
  tensors(): number;
  dispose(): void;
}

export interface TfjsStepSpec {
  scheme: Scheme;
  method: 'exponential';
  hidden: number;
  /** Every sequence of the data set; each step trains on the first `slots` of them (gathered, as a minibatch). */
  data: number[][][];
  slots: number;
  samples: number;
  basis?: number[];
}

export function createTfjsStepJob(spec: TfjsStepSpec): TfjsStepJob {
  const visible = spec.data[0][0].length;
  const layout = paramLayout(visible, spec.hidden, spec.scheme);
  const model: TfjsPoglm = createTfjsPoglm(tfCore, {
    layout,
    basis: spec.basis ?? exponentialBasis(5),
    method: spec.method,
    sequences: spec.data,
    samples: spec.samples,
    // The same starting point as the WGSL engine's model 0.
    params: initialParams(layout, 0),
    seed: 0,
  });
  const batch = Array.from({ length: spec.slots }, (_, s) => s % spec.data.length);
  return {
    async run(steps: number) {
      for (let step = 0; step < steps - 1; step++) await model.trainingStep({ batch, read: false });
      await model.trainingStep({ batch, read: true });
    },
    tensors: () => tf.memory().numTensors,
    dispose: () => model.dispose(),
  };
}

export function tfjsVersion(): string {
  return tf.version.tfjs;
}
