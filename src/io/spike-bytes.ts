// A spike file held in memory, as a page has a dropped file: the same readers as files on disk, on its bytes (HDF5
// through h5wasm's in-memory file system, CSV through the same rows as `poglm bin`). Nothing here uses Node's APIs.
import { DataError } from '../model/data.js';
import type { SpikeSource } from './binning.js';
import { csvLinesOfBytes, openCsvLines } from './csv-spikes.js';
import { withHdf5Bytes } from './hdf5-bytes.js';
import type { Hdf5File } from './hdf5-file.js';
import { detectFormat, FORMAT_HEAD_BYTES, readSpikes } from './spike-formats.js';
import type { ReadSpikeOptions, SpikeData, SpikeOrigin } from './spike-data.js';

/** What a spike file's bytes hold: CSV rows as a source to bin, or what the other readers return. */
export type SpikeBytes = { kind: 'csv'; source: SpikeSource; origin: SpikeOrigin } | SpikeData;

/** The most bytes read whole: a page holds the file in memory, and 2 GiB is what one typed array of bytes allows. */
const MAX_BYTES = 2 ** 31 - 1;

/**
 * The spike times or counts in `bytes`, a file called `name` (its format told by its first bytes, else its
 * extension, else CSV); `options.neurons` is CSV's neuron count (default: the highest index + 1). Every problem is a
 * DataError naming the file.
 */
export async function readSpikeBytes(bytes: Uint8Array, name: string, options: ReadSpikeOptions & { neurons?: number } = {}): Promise<SpikeBytes> {
  const source = `the file ${name}`;
  const detected = detectFormat(bytes.subarray(0, FORMAT_HEAD_BYTES), name, options.format);
  if (detected.format === 'csv') {
    const fail = (message: string) => new DataError(message);
    const csv = await openCsvLines(name, csvLinesOfBytes(bytes, name, fail), { neurons: options.neurons }, fail);
    return { kind: 'csv', source: csv, origin: { path: name, source, format: 'csv', container: 'CSV', dataset: 'rows (neuron, time)', notes: [] } };
  }
  const access = {
    bytes: (what: string, fix: string) => {
      if (bytes.length > MAX_BYTES) throw new DataError(`${source} is ${(bytes.length / 2 ** 30).toFixed(1)} GiB; ${what} files are read whole, up to 2 GiB: ${fix}`);
      return bytes;
    },
    hdf5: <T>(read: (file: Hdf5File) => T) => withHdf5Bytes(bytes, source, read),
  };
  return readSpikes(access, name, source, detected, options);
}
