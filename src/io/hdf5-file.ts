// An open HDF5 file (NWB, MATLAB v7.3) as the spike readers see it: the few reads they need, each failure a DataError
// that names the file and the dataset. It works on any build of h5wasm, the HDF5 C library compiled to WebAssembly:
// the Node build that reads files where they lie (src/io/hdf5.ts) and the ES module build that reads bytes held in
// memory, as a page has them (src/io/hdf5-bytes.ts). Nothing here uses Node's APIs.
import { DataError } from '../model/data.js';
import { printable } from './spike-data.js';

/** Either build of h5wasm: both share one API and one set of declarations. */
export type H5wasm = typeof import('h5wasm');
type H5File = InstanceType<H5wasm['File']>;
type H5Dataset = InstanceType<H5wasm['Dataset']>;

/** Values one dataset may hold to be read (2^27: 134 million spike times, 1 GiB as float64). */
export const MAX_DATASET_ELEMENTS = 2 ** 27;

/** The HDF5 signature, at byte 0 or at a power of two from 512 (after a user block, as MATLAB v7.3 files have). */
export const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5 datatype classes (H5T_class_t) the readers tell apart. */
const H5T = { INTEGER: 0, FLOAT: 1, STRING: 3, REFERENCE: 7 } as const;

/** The builds whose WebAssembly module aborted: its state is lost for the rest of the process (or page). */
const aborted = new WeakSet<H5wasm>();

/** Whether an earlier read aborted this build's WebAssembly module, after which it reads no file. */
export const hdf5Aborted = (h5: H5wasm): boolean => aborted.has(h5);

/** The library's message, short and printable ("error - name not defined!"). */
function reason(error: unknown): string {
  return printable(String((error as Error)?.message ?? error).split('\n')[0], 80);
}

/** An open HDF5 file: the few reads the spike readers need, each failure a DataError naming `where` and the path. */
export class Hdf5File {
  constructor(
    private readonly h5: H5wasm,
    private readonly file: H5File,
    /** How messages name the file: "--spikes file rec.nwb". */
    readonly where: string,
  ) {}

  /** Runs an h5wasm call; what it throws becomes a DataError about `what`. */
  private guard<T>(what: string, call: () => T): T {
    try {
      return call();
    } catch (error) {
      if (error instanceof DataError) throw error;
      if (error instanceof WebAssembly.RuntimeError) aborted.add(this.h5);
      throw new DataError(`${this.where}: cannot read ${what} (HDF5: ${reason(error)}): the file is damaged or not written by HDF5`);
    }
  }

  /** What is at `path`: a dataset, a group, something else (a link, a datatype), or nothing. */
  kind(path: string): 'dataset' | 'group' | 'other' | 'missing' {
    return this.guard(printable(path, 80), () => {
      const entity = this.file.get(path);
      if (entity instanceof this.h5.Dataset) return 'dataset';
      if (entity instanceof this.h5.Group) return 'group';
      return entity === null || entity === undefined ? 'missing' : 'other';
    });
  }

  /** The names in a group, in the file's order. */
  keys(path: string): string[] {
    return this.guard(printable(path, 80), () => {
      const group = path === '/' ? this.file : this.file.get(path);
      if (!(group instanceof this.h5.Group)) return [];
      return group.keys();
    });
  }

  private dataset(path: string): H5Dataset {
    const entity = this.guard(printable(path, 80), () => this.file.get(path));
    if (!(entity instanceof this.h5.Dataset)) throw new DataError(`${this.where} has no dataset ${printable(path, 80)}`);
    return entity;
  }

  /** A dataset's shape ([] for a scalar) and the class of its values. */
  describe(path: string): { shape: number[]; type: 'integer' | 'float' | 'reference' | 'string' | 'other' } {
    const dataset = this.dataset(path);
    return this.guard(printable(path, 80), () => {
      const metadata = dataset.metadata;
      const type = { [H5T.INTEGER]: 'integer', [H5T.FLOAT]: 'float', [H5T.REFERENCE]: 'reference', [H5T.STRING]: 'string' }[metadata.type] ?? 'other';
      return { shape: metadata.shape ?? [], type: type as 'integer' | 'float' | 'reference' | 'string' | 'other' };
    });
  }

  /** An attribute of the object at `path` as a string or a number; undefined when it has none of that name. */
  attribute(path: string, name: string): string | number | undefined {
    return this.guard(`${printable(path, 80)} (attribute ${name})`, () => {
      const entity = path === '/' ? this.file : this.file.get(path);
      if (!(entity instanceof this.h5.Dataset) && !(entity instanceof this.h5.Group)) return undefined;
      const attribute = entity.attrs[name];
      if (!attribute) return undefined;
      const value: unknown = attribute.value;
      const first: unknown = ArrayBuffer.isView(value) || Array.isArray(value) ? (value as ArrayLike<unknown>)[0] : value;
      if (typeof first === 'string') return first;
      if (typeof first === 'number' || typeof first === 'bigint') return Number(first);
      return undefined;
    });
  }

  /**
   * The numbers of a dataset of integers or floats as float64 in the file's (row-major) order, or those of `range`
   * [start, end) of a 1-D one. 64-bit integers beyond 2^53 come back rounded; callers check ids and indices.
   */
  numbers(path: string, what: string, range?: [number, number]): Float64Array {
    const { shape, type } = this.describe(path);
    if (type !== 'integer' && type !== 'float') throw new DataError(`${this.where}: ${what} (${printable(path, 80)}) holds ${type === 'other' ? 'compound or other non-numeric' : type} values, not numbers`);
    const count = range ? range[1] - range[0] : shape.reduce((product, size) => product * size, 1);
    if (count > MAX_DATASET_ELEMENTS) {
      throw new DataError(`${this.where}: ${what} (${printable(path, 80)}) holds ${count} values, more than the ${MAX_DATASET_ELEMENTS} read at once: restrict the units (--units) or split the recording`);
    }
    if (count === 0) return new Float64Array(0);
    const dataset = this.dataset(path);
    const values: unknown = this.guard(printable(path, 80), () => (range ? dataset.slice([[range[0], range[1]]]) : dataset.value));
    return toFloat64(values, count, `${this.where}: ${what} (${printable(path, 80)})`);
  }

  /** The paths an object-reference dataset (a MATLAB v7.3 cell array) points to, in the file's order. */
  references(path: string, what: string): string[] {
    const { shape, type } = this.describe(path);
    if (type !== 'reference') throw new DataError(`${this.where}: ${what} (${printable(path, 80)}) does not hold object references`);
    const count = shape.reduce((product, size) => product * size, 1);
    if (count > MAX_DATASET_ELEMENTS) throw new DataError(`${this.where}: ${what} holds ${count} references, too many to read`);
    const dataset = this.dataset(path);
    return this.guard(printable(path, 80), () => {
      const value: unknown = dataset.value;
      const references = (Array.isArray(value) ? value : [value]) as unknown[];
      return references.map((reference, i) => {
        const target = this.file.dereference(reference as Parameters<H5File['dereference']>[0]);
        const targetPath = (target as { path?: unknown } | null)?.path;
        if (typeof targetPath !== 'string') throw new DataError(`${this.where}: ${what}, element ${i + 1}, points to nothing: the file is damaged`);
        return targetPath;
      });
    });
  }
}

function toFloat64(values: unknown, count: number, what: string): Float64Array {
  if (typeof values === 'number' || typeof values === 'bigint') return Float64Array.of(Number(values));
  if (!ArrayBuffer.isView(values) || (values as unknown as ArrayLike<unknown>).length !== count) {
    throw new DataError(`${what}: HDF5 returned something other than ${count} numbers: the file is damaged`);
  }
  const source = values as unknown as ArrayLike<number | bigint>;
  if (source instanceof Float64Array) return source;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = Number(source[i]);
  return out;
}

/**
 * Opens `path` (in the module's file system) with `h5`, runs the synchronous `read` on it and closes it. A file HDF5
 * cannot open (not HDF5, truncated, damaged) is a DataError naming `where`; so is any file after the module aborted,
 * with `restart` saying how to get a fresh one ("in this process; run the command again").
 */
export function openHdf5<T>(h5: H5wasm, path: string, where: string, read: (file: Hdf5File) => T, restart: string): T {
  if (aborted.has(h5)) throw new DataError(`cannot read ${where}: the HDF5 reader stopped on an earlier file ${restart}`);
  let file: H5File;
  try {
    file = new h5.File(path, 'r');
  } catch (error) {
    throw new DataError(`${where} cannot be opened as HDF5 (${reason(error)}): the file is damaged, truncated or not HDF5`);
  }
  if (!(file.file_id >= 0n)) throw new DataError(`${where} cannot be opened as HDF5: the file is damaged, truncated or not HDF5`);
  try {
    return read(new Hdf5File(h5, file, where));
  } finally {
    try {
      file.close();
    } catch {
      // Closing a file whose reads failed can fail too; nothing is left to release that HDF5 still tracks.
    }
  }
}
