// Which reader a spike file needs, and reading it. The first bytes decide where they name a format (NumPy's magic,
// a zip archive, MATLAB's v5 header, the HDF5 signature at 0 or after a user block), else the extension, else CSV;
// --format overrides both. CSV is streamed by src/cli/spikes.ts and never reaches readSpikeFile.
import { extname } from 'node:path';
import { DataError } from '../model/data.js';
import { readHead, readWholeFile } from './file-bytes.js';
import { HDF5_MAGIC, withHdf5 } from './hdf5.js';
import { listMat5, MAT5_TEXT, readMat5Variable } from './mat5.js';
import { spikesFromMat } from './mat-spikes.js';
import { mat73File } from './mat73.js';
import { NPY_MAGIC } from './npy.js';
import { readNpySpikes, readNpzSpikes } from './numpy-spikes.js';
import { readNwbSpikes } from './nwb.js';
import type { ReadSpikeOptions, SpikeData, SpikeFormat } from './spike-data.js';

/** How a file is stored: the spike format and, for MATLAB, which of its two containers. */
export interface DetectedFormat {
  format: SpikeFormat;
  /** MATLAB v7.3 (HDF5) rather than v5. */
  hdf5: boolean;
}

const EXTENSIONS: Record<string, SpikeFormat> = {
  '.npy': 'npy', '.npz': 'npz', '.mat': 'mat', '.nwb': 'nwb', '.h5': 'nwb', '.hdf5': 'nwb', '.hdf': 'nwb',
  '.csv': 'csv', '.tsv': 'csv', '.txt': 'csv',
};

const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0): boolean => bytes.length >= at + magic.length && magic.every((byte, i) => bytes[at + i] === byte);
const text = (bytes: Uint8Array, length: number): string => new TextDecoder('latin1').decode(bytes.subarray(0, length));

/** Where HDF5 looks for its superblock: byte 0, then 512, 1024, 2048, ... */
function isHdf5(head: Uint8Array): boolean {
  return [0, 512, 1024, 2048].some((at) => startsWith(head, HDF5_MAGIC, at));
}

/** The format of the file at `path`: from `override`, else its first bytes, else its extension, else CSV. */
export function detectSpikeFormat(path: string, source: string, override?: SpikeFormat): DetectedFormat {
  const head = readHead(path, source, 2056);
  const hdf5 = isHdf5(head);
  if (override) return { format: override, hdf5: override === 'mat' && hdf5 };
  if (startsWith(head, NPY_MAGIC)) return { format: 'npy', hdf5: false };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return { format: 'npz', hdf5: false };
  if (text(head, 19) === MAT5_TEXT) return { format: 'mat', hdf5: false };
  const extension = extname(path).toLowerCase();
  if (hdf5) return { format: extension === '.mat' || text(head, 10) === 'MATLAB 7.3' ? 'mat' : 'nwb', hdf5: true };
  return { format: EXTENSIONS[extension] ?? 'csv', hdf5: false };
}

const MAT5_FIX = 'save only the spike times (save(f, "SpTimes")), or save with -v7.3, which is read without loading the whole file';

/**
 * Spike times or counts from a file in any format but CSV (which src/cli/spikes.ts streams): NWB, MATLAB v5/v7 and
 * v7.3, NumPy .npy and .npz. Everything returned is checked; every problem is a DataError naming the file.
 */
export async function readSpikeFile(path: string, detected: DetectedFormat, options: ReadSpikeOptions = {}): Promise<SpikeData> {
  const source = `${options.flag ?? '--spikes'} file ${path}`;
  const base = { path, source, format: detected.format };
  switch (detected.format) {
    case 'nwb':
      return readNwbSpikes({ ...base, container: 'NWB (HDF5)' }, options.variable, options.units);
    case 'mat':
      if (detected.hdf5) return withHdf5(path, source, (file) => spikesFromMat(mat73File(file), { ...base, container: 'MATLAB v7.3 (HDF5)' }, options.variable));
      return readMat5(path, source, base, options.variable);
    case 'npy':
      if (options.variable !== undefined) throw new DataError(`--variable applies to .npz, .mat and NWB files; ${source} is a .npy file of one array`);
      return readNpySpikes(path, source);
    case 'npz':
      return readNpzSpikes(path, source, options);
    case 'csv':
      throw new DataError(`${source} is CSV, which is streamed, not read whole`);
  }
}

function readMat5(path: string, source: string, base: { path: string; source: string; format: SpikeFormat }, variable: string | undefined): SpikeData {
  const bytes = readWholeFile(path, source, 'MATLAB v5/v7', MAT5_FIX);
  const mat = { variables: listMat5(bytes, source), read: (name: string) => readMat5Variable(bytes, source, name) };
  return spikesFromMat(mat, { ...base, container: 'MATLAB v5' }, variable);
}
