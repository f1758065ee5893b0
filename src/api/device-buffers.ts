// Results as an application renders or computes on them: typed arrays, and GPUBuffers of the session's device that
// the application binds in its own pipelines. The library owns each buffer it returns here: the application may bind,
// copy and read it (never destroy it), and frees it with release(); every one still held is freed when the session is
// destroyed. Buffers the application passes in are never destroyed by the library (src/api/counts.ts).
import { BufferUsage } from '../gpu/constants.js';
import type { GpuSession } from '../engine/session.js';
import { flattenModel, type PoglmModelJson } from '../model/json.js';
import type { ParamLayout } from '../model/params.js';
import type { FitResult } from './fit-jobs.js';
import type { HiddenPosteriorArrays } from './infer.js';

/** The usages every returned buffer has: bind it as storage, copy from it (read it back), or write it. */
export const RETURNED_BUFFER_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export interface BufferOptions {
  /** Usages added to RETURNED_BUFFER_USAGE, e.g. GPUBufferUsage.UNIFORM or VERTEX for a render pipeline. */
  usage?: number;
  label?: string;
}

/** A buffer the library made for the application; its data are f32 words from byte 0. */
export interface LibraryBuffer {
  readonly buffer: GPUBuffer;
  /** Bytes of data (the buffer itself is rounded up to 16 bytes). */
  readonly byteLength: number;
  /** Whether release() has run: the buffer is destroyed and must no longer be used. */
  readonly released: boolean;
  /** Destroys the buffer; safe to call more than once. */
  release(): void;
}

/**
 * A model's parameters in one buffer: `layout.total` f32 words laid out by `layout` (src/model/params.ts). The
 * generative weight W (N x N, N = visible + hidden with the visible first; row n receives, column m sends, as in the model JSON)
 * starts at word layout.weightOffset, the bias b (N) at biasOffset; for a fitted POGLM the variational forward weight
 * (hidden x forwardColumns) at forwardOffset, the backward weight (hidden x visible, FB only) at backwardOffset and
 * the variational bias (hidden) at variationalBiasOffset. Every matrix is row-major.
 */
export interface ModelBuffer extends LibraryBuffer {
  readonly layout: ParamLayout;
}

/** Hidden posterior means in one buffer: f32 [sequence][bin][hidden], row-major. */
export interface PosteriorBuffer extends LibraryBuffer {
  readonly sequences: number;
  readonly bins: number;
  readonly hidden: number;
}

/** A fitted model as typed arrays: its parameters (f32, laid out by `layout`) and the mean ELBO of each epoch. */
export interface ModelArrays {
  layout: ParamLayout;
  params: Float32Array;
  elboHistory: Float64Array;
}

/** The parameters of `model` as the device holds them: f32 words laid out by paramLayout (see ModelBuffer). */
export function modelParams(model: PoglmModelJson): { layout: ParamLayout; params: Float32Array } {
  const flat = flattenModel(model);
  return { layout: flat.layout, params: Float32Array.from(flat.params) };
}

/** A fit's result as typed arrays. */
export function fitResultArrays(result: FitResult): ModelArrays {
  return { ...modelParams(result.model), elboHistory: Float64Array.from(result.elboHistory) };
}

/** A buffer of the session's device holding `data`, owned by the library until release(). */
export function arrayToBuffer(session: GpuSession, data: Float32Array, options: BufferOptions = {}): LibraryBuffer {
  const context = session.context;
  const buffer = context.createBuffer(options.label ?? 'poglm-gpu result', data.byteLength, RETURNED_BUFFER_USAGE | (options.usage ?? 0));
  context.write(buffer, data);
  let released = false;
  return {
    buffer,
    byteLength: data.byteLength,
    get released() {
      return released;
    },
    release() {
      released = true;
      context.release(buffer);
    },
  };
}

/** The model's parameters in a buffer of the session's device, for the application's own kernels (see ModelBuffer). */
export function modelToBuffer(session: GpuSession, model: PoglmModelJson, options: BufferOptions = {}): ModelBuffer {
  const { layout, params } = modelParams(model);
  return Object.assign(arrayToBuffer(session, params, { label: 'poglm-gpu model parameters', ...options }), { layout });
}

/** The posterior means in a buffer of the session's device (see PosteriorBuffer). */
export function posteriorToBuffer(session: GpuSession, posterior: HiddenPosteriorArrays, options: BufferOptions = {}): PosteriorBuffer {
  const { sequences, bins, hidden } = posterior;
  const owned = arrayToBuffer(session, Float32Array.from(posterior.means), { label: 'poglm-gpu hidden posterior means', ...options });
  return Object.assign(owned, { sequences, bins, hidden });
}
