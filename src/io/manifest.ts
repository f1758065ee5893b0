// The manifest written beside binned counts: which file (its path and SHA-256, so that counts can be traced to the
// exact recording), which format and variable or dataset, which units in which order, the bins, and for every
// sequence the time it covers and the split it went to. Written in pieces (a recording cut into millions of short
// sequences has a long list). The hash reads the file in chunks and yields between them, so a Ctrl-C is seen.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { DataError } from '../model/data.js';
import type { Split } from './split.js';
import type { SpikeOrigin, UnitId } from './spike-data.js';

export const MANIFEST_FORMAT = 'poglm-gpu.bin-manifest';

const HASH_CHUNK = 1 << 22;

/** The file's SHA-256 (hex) and size; undefined when `signal` (checked between chunks) was aborted. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number } | undefined> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK);
  let bytes = 0;
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch (error) {
    throw new DataError(`cannot read ${path} to hash it: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    for (;;) {
      const read = readSync(descriptor, buffer, 0, HASH_CHUNK, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
      bytes += read;
      if (signal) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal.aborted) return undefined;
      }
    }
  } finally {
    closeSync(descriptor);
  }
  return { sha256: hash.digest('hex'), bytes };
}

export interface ManifestSequence {
  /** [start, end) in seconds; null where the bin width is not known (counts read as they are). */
  start: number | null;
  end: number | null;
  /** [start, end) in frames, when binned in frames. */
  frames?: [number, number];
  split: Split | 'all';
  /** Its row in the file of its split (or in the one counts file). */
  row: number | null;
  trial?: number;
}

export interface Manifest {
  source: Pick<SpikeOrigin, 'path' | 'format' | 'container' | 'dataset'> & { sha256: string; bytes: number; timeUnit: string };
  /** The units kept, in the order of the counts' neuron axis. */
  units: UnitId[];
  /** Seconds (null when unknown); binFrames when binned in frames. */
  binWidth: number | null;
  binFrames?: number;
  frameRate?: number;
  sequenceBins: number;
  align: 'recording' | 'trials';
  outputs: Record<string, string>;
  /** What was left out: spikes of other units, after the end, in a partial last sequence; trials too short. */
  leftOut: Record<string, number | number[]>;
  sequences: ManifestSequence[];
}

/** The manifest as JSON text in pieces: the header at once, the sequences a thousand at a time. */
export function* manifestJson(manifest: Manifest): Generator<string> {
  const { sequences, ...header } = manifest;
  const head = JSON.stringify({ format: MANIFEST_FORMAT, version: 1, ...header }, null, 2);
  yield `${head.slice(0, -2)},\n  "sequences": [`;
  for (let s = 0; s < sequences.length; s += 1000) {
    yield sequences
      .slice(s, s + 1000)
      .map((sequence, i) => `${s + i === 0 ? '' : ','}\n    ${JSON.stringify(sequence)}`)
      .join('');
  }
  yield `${sequences.length > 0 ? '\n  ' : ''}]\n}\n`;
}
