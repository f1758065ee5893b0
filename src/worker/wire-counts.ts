// Counts on their way to the worker. Nested arrays that are plain counts (a rectangular [sequence][bin][neuron] of
// non-negative integers) are packed into the smallest typed array that holds them, whose buffer is then transferred
// rather than copied; the app's own arrays are left as they are. Anything else crosses as it is, so that the
// worker's fit finds what is wrong and says it in exactly the words fit uses in the app's own thread.
import { isCountArray, isCountBuffer, type CountArray, type SpikeCounts } from '../api/counts.js';
import { DataError } from '../model/data.js';
import type { WireCounts } from './protocol.js';

/** Counts ready to post, and the buffers the post may transfer. */
export interface PackedCounts {
  wire: WireCounts;
  transfer: ArrayBuffer[];
}

/** The largest count of plain nested counts, or undefined where they are not plain counts. */
function largestCount(counts: number[][][]): number | undefined {
  const bins = Array.isArray(counts[0]) ? counts[0].length : 0;
  const neurons = Array.isArray(counts[0]?.[0]) ? counts[0][0].length : 0;
  if (counts.length === 0 || bins === 0 || neurons === 0) return undefined;
  let largest = 0;
  for (const sequence of counts) {
    if (!Array.isArray(sequence) || sequence.length !== bins) return undefined;
    for (const bin of sequence) {
      if (!Array.isArray(bin) || bin.length !== neurons) return undefined;
      for (const count of bin) {
        if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) return undefined;
        if (count > largest) largest = count;
      }
    }
  }
  return largest;
}

/** Plain nested counts as one typed array, or undefined (they then cross as they are). */
export function packNested(counts: number[][][]): CountArray | undefined {
  const largest = largestCount(counts);
  if (largest === undefined) return undefined;
  const shape = [counts.length, counts[0].length, counts[0][0].length] as const;
  const Type = largest <= 0xff ? Uint8Array : largest <= 0xffff ? Uint16Array : Uint32Array;
  const data = new Type(shape[0] * shape[1] * shape[2]);
  let cell = 0;
  for (const sequence of counts) for (const bin of sequence) for (const count of bin) data[cell++] = count;
  return { data, shape };
}

/**
 * `counts` as they cross to the worker. A typed array of the app's is copied by the post unless `transferOwn` says
 * its buffer may go (the app's array is then empty); a GPUBuffer belongs to this thread's device and cannot cross.
 */
export function packCounts(name: string, counts: SpikeCounts, transferOwn = false): PackedCounts {
  if (isCountBuffer(counts)) {
    throw new DataError(`${name} is a GPUBuffer, which belongs to this thread's device and cannot be sent to a worker: read it into a typed array first, or fit in this thread with GpuSession.open({ device })`);
  }
  if (isCountArray(counts)) {
    const buffer = (counts.data as { buffer?: unknown } | undefined)?.buffer;
    return { wire: counts, transfer: transferOwn && buffer instanceof ArrayBuffer ? [buffer] : [] };
  }
  const packed = Array.isArray(counts) ? packNested(counts) : undefined;
  return packed ? { wire: packed, transfer: [packed.data.buffer as ArrayBuffer] } : { wire: counts, transfer: [] };
}
