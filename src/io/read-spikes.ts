// Spike files on disk: their first bytes tell the format (src/io/spike-formats.ts), and the readers get the file's
// bytes from Node's fs or open it in place as HDF5. CSV is streamed by src/cli/spikes.ts and never reaches
// readSpikeFile.
import { readHead, readWholeFile } from './file-bytes.js';
import { withHdf5 } from './hdf5.js';
import type { Hdf5File } from './hdf5-file.js';
import { detectFormat, FORMAT_HEAD_BYTES, readSpikes, type DetectedFormat } from './spike-formats.js';
import type { ReadSpikeOptions, SpikeData, SpikeFormat } from './spike-data.js';

export type { DetectedFormat } from './spike-formats.js';

/** The format of the file at `path`: from `override`, else its first bytes, else its extension, else CSV. */
export function detectSpikeFormat(path: string, source: string, override?: SpikeFormat): DetectedFormat {
  return detectFormat(readHead(path, source, FORMAT_HEAD_BYTES), path, override);
}

/**
 * Spike times or counts from a file in any format but CSV (which src/cli/spikes.ts streams): NWB, MATLAB v5/v7 and
 * v7.3, NumPy .npy and .npz. Everything returned is checked; every problem is a DataError naming the file.
 */
export async function readSpikeFile(path: string, detected: DetectedFormat, options: ReadSpikeOptions = {}): Promise<SpikeData> {
  const source = `${options.flag ?? '--spikes'} file ${path}`;
  const access = {
    bytes: (what: string, fix: string) => readWholeFile(path, source, what, fix),
    hdf5: <T>(read: (file: Hdf5File) => T) => withHdf5(path, source, read),
  };
  return readSpikes(access, path, source, detected, options);
}
