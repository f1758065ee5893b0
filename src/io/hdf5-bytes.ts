// HDF5 files (NWB, MATLAB v7.3) held in memory, as a page has a dropped file: h5wasm's ES module build, which embeds
// its WebAssembly and keeps an in-memory file system (Emscripten's MEMFS). The bytes are written there, read through
// the same Hdf5File as files on disk (src/io/hdf5-file.ts), and removed. The build is loaded on first use: it is
// about 4 MB, which a page that never sees an HDF5 file should not load.
import { openHdf5, type H5wasm, type Hdf5File } from './hdf5-file.js';

let loading: Promise<H5wasm> | undefined;

function load(): Promise<H5wasm> {
  loading ??= import('h5wasm').then(async (module) => {
    await module.ready;
    return module;
  });
  return loading;
}

/** Each file gets a name of its own in the in-memory file system, so that reads never meet a leftover. */
let opened = 0;

/** Runs the synchronous `read` on the HDF5 file whose bytes are `bytes`; every failure is a DataError naming `where`. */
export async function withHdf5Bytes<T>(bytes: Uint8Array, where: string, read: (file: Hdf5File) => T): Promise<T> {
  const h5 = await load();
  const FS = h5.FS!;
  const path = `/poglm-input-${++opened}.h5`;
  FS.writeFile(path, bytes);
  try {
    return openHdf5(h5, path, where, read, 'in this page; reload it');
  } finally {
    FS.unlink(path);
  }
}
