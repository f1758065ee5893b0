// Spike counts as an application holds them: nested arrays x[sequence][bin][neuron], one typed array with its shape
// (the same order, row-major), or a GPUBuffer of the application's that holds them in that order as f32 or u32. Every
// form comes to the same counts: the library reads a typed array or a buffer into nested rows once (a buffer by one
// copy and read-back on its device), then checks, hashes and packs them as it does nested arrays, so a fit from any
// form gives the same numbers. The application's buffer is only read: the library never writes, maps or destroys it.
import { BufferUsage } from '../gpu/constants.js';
import { GpuValidationError } from '../gpu/errors.js';
import { DataError, describeValue } from '../model/data.js';
import type { GpuSession } from '../engine/session.js';

/** The typed arrays counts can come in: small counts fit 8 or 16 bits; f32 as a GPU writes them. */
export type CountArrayData = Uint8Array | Uint16Array | Uint32Array | Float32Array;

/** [sequences, bins, neurons]: the shape of counts, outermost first. */
export type CountShape3 = readonly [sequences: number, bins: number, neurons: number];

/** Counts in one typed array, row-major [sequence][bin][neuron]: entry (s, t, v) is data[(s * bins + t) * neurons + v]. */
export interface CountArray {
  data: CountArrayData;
  shape: CountShape3;
}

/**
 * Counts in an application's GPUBuffer, row-major [sequence][bin][neuron] as 4-byte f32 or u32 words starting at
 * `byteOffset` (default 0, a multiple of 4). The buffer must have COPY_SRC usage, be unmapped and belong to the
 * device of the session it is given with; the library copies it once when the call starts, so the application may
 * reuse or destroy it as soon as the call's promise settles.
 */
export interface CountBuffer {
  buffer: GPUBuffer;
  shape: CountShape3;
  format: 'f32' | 'u32';
  byteOffset?: number;
}

/** Any form of spike counts the API takes. */
export type SpikeCounts = number[][][] | CountArray | CountBuffer;

const TYPED_ARRAYS = [Uint8Array, Uint16Array, Uint32Array, Float32Array] as const;

export function isCountBuffer(counts: unknown): counts is CountBuffer {
  // By `buffer` alone, so that a descriptor missing its format is told so rather than called an unknown object.
  return typeof counts === 'object' && counts !== null && !Array.isArray(counts) && 'buffer' in counts;
}

export function isCountArray(counts: unknown): counts is CountArray {
  return typeof counts === 'object' && counts !== null && !Array.isArray(counts) && !isCountBuffer(counts) && 'data' in counts && 'shape' in counts;
}

/** The shape checked: three positive integers. */
function checkShape(name: string, shape: unknown): [number, number, number] {
  const fix = 'give [sequences, bins, neurons], three positive integers';
  if (!Array.isArray(shape) || shape.length !== 3) throw new DataError(`${name}.shape is ${describeValue(shape)}: ${fix}`);
  shape.forEach((extent, axis) => {
    if (typeof extent !== 'number' || !Number.isSafeInteger(extent) || extent < 1) {
      throw new DataError(`${name}.shape[${axis}] is ${describeValue(extent)}: ${fix}`);
    }
  });
  return [shape[0], shape[1], shape[2]];
}

/** A typed array of counts as nested rows; its values are checked afterwards with the nested arrays' own check. */
export function countArrayToNested(name: string, counts: CountArray): number[][][] {
  const [sequences, bins, neurons] = checkShape(name, counts.shape);
  const data: unknown = counts.data;
  if (!TYPED_ARRAYS.some((type) => data instanceof type)) {
    throw new DataError(`${name}.data is ${describeValue(data)}: give a Uint8Array, Uint16Array, Uint32Array or Float32Array`);
  }
  const values = data as CountArrayData;
  if (values.length !== sequences * bins * neurons) {
    throw new DataError(
      `${name}.data has ${values.length} entries but its shape ${sequences} x ${bins} x ${neurons} needs ${sequences * bins * neurons}: ` +
        'give data and shape of the same counts',
    );
  }
  const rows: number[][][] = new Array(sequences);
  for (let s = 0; s < sequences; s++) {
    const sequence: number[][] = new Array(bins);
    for (let t = 0; t < bins; t++) sequence[t] = Array.from(values.subarray((s * bins + t) * neurons, (s * bins + t + 1) * neurons));
    rows[s] = sequence;
  }
  return rows;
}

/** Copies the counts out of an application's buffer (on the session's device) into a typed array. */
export async function readCountBuffer(session: GpuSession, name: string, counts: CountBuffer): Promise<CountArray> {
  const shape = checkShape(name, counts.shape);
  const { buffer, format } = counts;
  const byteOffset = counts.byteOffset ?? 0;
  if (format !== 'f32' && format !== 'u32') throw new DataError(`${name}.format is ${describeValue(format)}: give 'f32' or 'u32'`);
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
    throw new DataError(`${name}.byteOffset is ${describeValue(byteOffset)}: give a non-negative multiple of 4`);
  }
  if (typeof buffer?.mapAsync !== 'function') throw new DataError(`${name}.buffer is ${describeValue(buffer)}: give a GPUBuffer`);
  const bytes = shape[0] * shape[1] * shape[2] * 4;
  if ((buffer.usage & BufferUsage.COPY_SRC) === 0) {
    throw new DataError(`${name}.buffer (${describeValue(buffer.label)}) lacks GPUBufferUsage.COPY_SRC: create it with COPY_SRC among its usages`);
  }
  if (buffer.mapState !== 'unmapped') throw new DataError(`${name}.buffer is ${buffer.mapState}: unmap it before handing it over`);
  if (byteOffset + bytes > buffer.size) {
    throw new DataError(`${name}.buffer has ${buffer.size} bytes, but ${shape.join(' x ')} counts at byte ${byteOffset} need ${byteOffset + bytes}: check shape and byteOffset`);
  }
  const context = session.context;
  let words: ArrayBuffer;
  try {
    // In error scopes: a buffer of another device, or one already destroyed, fails the copy with a validation error.
    words = await context.scoped(`reading ${name} from its GPUBuffer`, undefined, () => context.readBytes(buffer, byteOffset, bytes));
  } catch (error) {
    if (!(error instanceof GpuValidationError)) throw error;
    throw new DataError(`${name}.buffer cannot be read on the session's device (${error.message}): give a live buffer of the device the session was opened with (GpuSession.open({ device }))`);
  }
  return { data: format === 'f32' ? new Float32Array(words) : new Uint32Array(words), shape };
}

/**
 * Turns each input into nested rows once, so that jobs that pass the same object (array, typed array or buffer)
 * still share one upload. Buffers need the session whose device holds them.
 */
export class CountReader {
  private readonly read = new Map<object, Promise<number[][][]>>();

  constructor(private readonly session?: GpuSession) {}

  nested(name: string, counts: SpikeCounts): Promise<number[][][]> {
    if (Array.isArray(counts)) return Promise.resolve(counts);
    const known = this.read.get(counts);
    if (known) return known;
    const nested = this.convert(name, counts);
    if (typeof counts === 'object' && counts !== null) this.read.set(counts, nested);
    return nested;
  }

  private async convert(name: string, counts: CountArray | CountBuffer): Promise<number[][][]> {
    if (isCountBuffer(counts)) {
      if (!this.session) {
        throw new DataError(`${name} is a GPUBuffer: pass options.session, a GpuSession opened on that buffer's device (GpuSession.open({ device }))`);
      }
      return countArrayToNested(name, await readCountBuffer(this.session, name, counts));
    }
    return hostCounts(name, counts);
  }
}

/**
 * Nested rows of counts given as nested arrays or a typed array (no GPU needed: for checks made before any). Anything
 * else goes on as it is, to the nested arrays' check, which names what it is.
 */
export function hostCounts(name: string, counts: number[][][] | CountArray): number[][][] {
  if (isCountBuffer(counts)) throw new DataError(`${name} is a GPUBuffer; this check takes nested arrays or a typed array with its shape`);
  return isCountArray(counts) ? countArrayToNested(name, counts) : (counts as number[][][]);
}

/**
 * The items with the counts under `keys` read into nested rows by one reader, so that items sharing an input share
 * its rows. Items that are not objects, and keys an item leaves undefined, pass as they are (the callers' own checks
 * then name what is wrong).
 */
export async function readItemCounts<T extends object, K extends keyof T & string>(
  items: T[],
  keys: K[],
  session: GpuSession | undefined,
  where: (index: number, key: K) => string,
): Promise<(Omit<T, K> & { [P in K]: Exclude<T[P], CountArray | CountBuffer> })[]> {
  const reader = new CountReader(session);
  const host: T[] = [];
  for (const [index, item] of items.entries()) {
    if (typeof item !== 'object' || item === null) {
      host.push(item);
      continue;
    }
    const copy = { ...item };
    for (const key of keys) {
      if (item[key] !== undefined) (copy as Record<string, unknown>)[key] = await reader.nested(where(index, key), item[key] as SpikeCounts);
    }
    host.push(copy);
  }
  return host as never;
}
