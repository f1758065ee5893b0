// MATLAB v7.3 MAT-files: HDF5 files (after a 512-byte user block) in MATLAB's layout. Each variable is a root
// dataset or group with a MATLAB_class attribute; dimensions are stored reversed (MATLAB's column-major [r x c] is
// HDF5's row-major [c, r], so the values come out in MATLAB's order as they are); a cell array is a dataset of object
// references into the group "#refs#"; an empty array is a small dataset of its dimensions with MATLAB_empty set.
import { DataError } from '../model/data.js';
import type { Hdf5File } from './hdf5-file.js';
import type { MatValue, MatVariableInfo } from './mat5.js';
import type { MatFile } from './mat-spikes.js';
import { printable } from './spike-data.js';

const NUMERIC = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

function info(file: Hdf5File, name: string): MatVariableInfo {
  const path = `/${name}`;
  const kind = file.kind(path);
  const declared = file.attribute(path, 'MATLAB_class');
  if (kind !== 'dataset') return { name, className: typeof declared === 'string' ? declared : kind === 'group' ? 'struct' : 'unknown', dims: [1, 1] };
  const { shape, type } = file.describe(path);
  const className = typeof declared === 'string' ? declared : type === 'reference' ? 'cell' : type === 'float' || type === 'integer' ? 'double' : type;
  if (file.attribute(path, 'MATLAB_empty')) return { name, className, dims: [0, 0] };
  const dims = [...shape].reverse();
  while (dims.length < 2) dims.push(1);
  return { name, className, dims };
}

/** A dataset of numbers (a variable, or a cell's element) as MATLAB sees it. */
function numericValue(file: Hdf5File, path: string, what: string): MatValue {
  const kind = file.kind(path);
  const declared = file.attribute(path, 'MATLAB_class');
  const className = typeof declared === 'string' ? declared : 'double';
  if (kind !== 'dataset') return { kind: 'other', className: kind === 'group' ? 'struct' : className, dims: [1, 1] };
  if (file.attribute(path, 'MATLAB_empty')) return { kind: 'numeric', className, dims: [0, 0], data: new Float64Array(0) };
  const { shape, type } = file.describe(path);
  const dims = [...shape].reverse();
  while (dims.length < 2) dims.push(1);
  if (type === 'reference') return { kind: 'cell', dims, cells: [] };
  if (!NUMERIC.has(className) || (type !== 'float' && type !== 'integer')) return { kind: 'other', className, dims };
  return { kind: 'numeric', className, dims, data: file.numbers(path, what) };
}

function read(file: Hdf5File, name: string): MatValue {
  const path = `/${name}`;
  const variable = info(file, name);
  if (variable.className !== 'cell') return numericValue(file, path, `variable ${printable(name)}`);
  if (file.attribute(path, 'MATLAB_empty')) return { kind: 'cell', dims: [0, 0], cells: [] };
  const targets = file.references(path, `variable ${printable(name)}`);
  const cells = targets.map((target, i) => {
    const cell = numericValue(file, target, `${printable(name)}{${i + 1}}`);
    // Cells within cells are no layout of spike times; they are named by their kind and left unread.
    return cell.kind === 'cell' ? { kind: 'other' as const, className: 'cell', dims: cell.dims } : cell;
  });
  if (cells.length !== variable.dims[0] * variable.dims[1]) throw new DataError(`${file.where}: variable ${printable(name)} has ${cells.length} cells but its size is ${variable.dims.join('x')}`);
  return { kind: 'cell', dims: variable.dims, cells };
}

/** The MATLAB view of an open v7.3 file. */
export function mat73File(file: Hdf5File): MatFile {
  // "#refs#" holds the cells' contents and "#subsystem#" MATLAB's objects: neither is a variable.
  const names = file.keys('/').filter((name) => !name.startsWith('#'));
  return { variables: names.map((name) => info(file, name)), read: (name) => read(file, name) };
}
