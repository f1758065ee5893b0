// Which reader a spike file needs, and reading it with that reader, wherever its bytes are: on disk
// (src/io/read-spikes.ts) or in memory, as a page holds a dropped file (src/io/spike-bytes.ts). The first bytes decide
// where they name a format (NumPy's magic, a zip archive, MATLAB's v5 header, the HDF5 signature at 0 or after a
// user block), else the extension, else CSV; an override decides before both. Nothing here uses Node's APIs.
import { DataError } from '../model/data.js';
import { HDF5_MAGIC, type Hdf5File } from './hdf5-file.js';
import { listMat5, MAT5_TEXT, readMat5Variable } from './mat5.js';
import { spikesFromMat } from './mat-spikes.js';
import { mat73File } from './mat73.js';
import { NPY_MAGIC } from './npy.js';
import { npySpikes, npzSpikes } from './numpy-spikes.js';
import { nwbSpikes } from './nwb.js';
import type { ReadSpikeOptions, SpikeData, SpikeFormat } from './spike-data.js';

/** How a file is stored: the spike format and, for MATLAB, which of its two containers. */
export interface DetectedFormat {
  format: SpikeFormat;
  /** MATLAB v7.3 (HDF5) rather than v5. */
  hdf5: boolean;
}

/** The bytes detectFormat looks at: enough for the HDF5 signature after a 2048-byte user block. */
export const FORMAT_HEAD_BYTES = 2056;

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

/** The extension of a path or file name, lower case, as node:path's extname gives it ("" for ".bashrc" or "data"). */
export function extensionOf(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** The format of a file from `override`, else its first bytes (`head`), else the extension of `name`, else CSV. */
export function detectFormat(head: Uint8Array, name: string, override?: SpikeFormat): DetectedFormat {
  const hdf5 = isHdf5(head);
  if (override) return { format: override, hdf5: override === 'mat' && hdf5 };
  if (startsWith(head, NPY_MAGIC)) return { format: 'npy', hdf5: false };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return { format: 'npz', hdf5: false };
  if (text(head, 19) === MAT5_TEXT) return { format: 'mat', hdf5: false };
  const extension = extensionOf(name);
  if (hdf5) return { format: extension === '.mat' || text(head, 10) === 'MATLAB 7.3' ? 'mat' : 'nwb', hdf5: true };
  return { format: EXTENSIONS[extension] ?? 'csv', hdf5: false };
}

/** How a reader reaches the file's content, on disk or in memory. */
export interface SpikeFileAccess {
  /** The whole file, for the formats parsed in memory; `what` and `fix` say what to do with one too large to read. */
  bytes(what: string, fix: string): Uint8Array;
  /** Runs `read` on the file opened as HDF5. */
  hdf5<T>(read: (file: Hdf5File) => T): Promise<T>;
}

const MAT5_FIX = 'save only the spike times (save(f, "SpTimes")), or save with -v7.3, which is read without loading the whole file';
const NUMPY_FIX = 'save the spike times alone, or split the recording into several files';

/**
 * Spike times or counts from a file in any format but CSV (which is read line by line: src/io/csv-spikes.ts): NWB,
 * MATLAB v5/v7 and v7.3, NumPy .npy and .npz. `source` names the file in messages ("--spikes file rec.nwb").
 * Everything returned is checked; every problem is a DataError naming the file.
 */
export async function readSpikes(access: SpikeFileAccess, path: string, source: string, detected: DetectedFormat, options: ReadSpikeOptions = {}): Promise<SpikeData> {
  const base = { path, source, format: detected.format };
  switch (detected.format) {
    case 'nwb':
      return access.hdf5((file) => nwbSpikes(file, { ...base, container: 'NWB (HDF5)' }, options.variable, options.units));
    case 'mat':
      if (detected.hdf5) return access.hdf5((file) => spikesFromMat(mat73File(file), { ...base, container: 'MATLAB v7.3 (HDF5)' }, options.variable));
      return readMat5(access.bytes('MATLAB v5/v7', MAT5_FIX), base, options.variable);
    case 'npy':
      if (options.variable !== undefined) throw new DataError(`--variable applies to .npz, .mat and NWB files; ${source} is a .npy file of one array`);
      return npySpikes(access.bytes('NumPy', NUMPY_FIX), path, source);
    case 'npz':
      return npzSpikes(access.bytes('NumPy', NUMPY_FIX), path, source, options);
    case 'csv':
      throw new DataError(`${source} is CSV, which is streamed, not read whole`);
  }
}

function readMat5(bytes: Uint8Array, base: { path: string; source: string; format: SpikeFormat }, variable: string | undefined): SpikeData {
  const mat = { variables: listMat5(bytes, base.source), read: (name: string) => readMat5Variable(bytes, base.source, name) };
  return spikesFromMat(mat, { ...base, container: 'MATLAB v5' }, variable);
}
