// HDF5 files (NWB, MATLAB v7.3) on disk, through h5wasm's Node build. It opens the file where it lies (Emscripten's
// NODERAWFS: reads go through Node's fs), so a file of any size is opened without loading it; only the datasets read
// come into memory, and each is refused before reading when it holds more than MAX_DATASET_ELEMENTS values
// (src/io/hdf5-file.ts, which also holds the reads). h5wasm is loaded on first use, so that other formats do not pay
// for it.
//
// The library prints its error stack ("HDF5-DIAG: ...") to file descriptor 2 and Emscripten prints warnings through
// console.error: while a file is read both are silenced (the reads are synchronous, so nothing else of ours is
// writing then), and every failure becomes a DataError that names the file and the dataset.
import { closeSync, openSync } from 'node:fs';
import { devNull } from 'node:os';
import { resolve } from 'node:path';
import { openHdf5, type H5wasm, type Hdf5File } from './hdf5-file.js';

let loading: Promise<H5wasm> | undefined;

function load(): Promise<H5wasm> {
  loading ??= import('h5wasm/node').then(async (module) => {
    await module.ready;
    return module;
  });
  return loading;
}

/** Runs `read` with HDF5's and Emscripten's messages on stderr silenced. */
function quietly<T>(module: H5wasm, read: () => T): T {
  const stream = (module.FS as unknown as { getStream?: (fd: number) => { nfd?: number } | null } | null)?.getStream?.(2);
  const descriptor = stream?.nfd;
  const sink = openSync(devNull, 'w');
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  if (stream && typeof descriptor === 'number') stream.nfd = sink;
  try {
    return read();
  } finally {
    if (stream && typeof descriptor === 'number') stream.nfd = descriptor;
    process.stderr.write = write;
    closeSync(sink);
  }
}

/**
 * Opens `path` with h5wasm, runs the synchronous `read` on it with the library's messages silenced, and closes it.
 * A file HDF5 cannot open (not HDF5, truncated, damaged) is a DataError naming `where`.
 */
export async function withHdf5<T>(path: string, where: string, read: (file: Hdf5File) => T): Promise<T> {
  const h5 = await load();
  return quietly(h5, () => openHdf5(h5, resolve(path), where, read, 'in this process; run the command again'));
}
