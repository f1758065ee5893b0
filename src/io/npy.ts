// A NumPy .npy array, parsed and checked: the magic and version, the header (a Python dict read by a tokenizer), a
// dtype numpy writes for numbers (bool, int and uint of 1-8 bytes, float16/32/64, either byte order) or a structured
// dtype of such fields, and a data part at least as long as the shape needs. Values are read through a DataView, so
// any alignment and byte order works. Object arrays (pickles), strings and dates are refused with what to save.
import { DataError, describeValue } from '../model/data.js';
import { parsePythonLiteral, type PyValue } from './python-literal.js';
import { printable } from './spike-data.js';

export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** numpy refuses headers above 10,000 bytes by default; a larger one is damage, not an array. */
const MAX_HEADER_BYTES = 65_536;

export interface NpyScalar {
  /** b: bool, i: signed, u: unsigned, f: float. */
  kind: 'b' | 'i' | 'u' | 'f';
  size: number;
  little: boolean;
  /** As the header writes it: "<f8". */
  descr: string;
}

export interface NpyField {
  name: string;
  type: NpyScalar;
  offset: number;
}

export interface NpyArray {
  /** How messages name it: "spikes.npy", "times in spikes.npz". */
  name: string;
  shape: number[];
  fortranOrder: boolean;
  /** The element type of a plain array; undefined for a structured one. */
  type?: NpyScalar;
  /** The fields of a structured array. */
  fields?: NpyField[];
  itemSize: number;
  /** Elements: the product of the shape. */
  count: number;
  data: DataView;
}

const SIZES: Record<string, number[]> = { b: [1], i: [1, 2, 4, 8], u: [1, 2, 4, 8], f: [2, 4, 8] };

function scalarType(descr: string, name: string): NpyScalar {
  const match = /^([<>|=]?)([biuf])(\d+)$/.exec(descr);
  const size = match ? Number(match[3]) : 0;
  if (!match || !SIZES[match[2]].includes(size)) {
    const what = /^[|<>=]?O/.test(descr)
      ? 'Python objects (a pickle), which are not read'
      : /^[|<>=]?[USa]/.test(descr)
        ? 'strings'
        : /^[|<>=]?[mM]/.test(descr)
          ? 'dates or time deltas'
          : `the dtype "${printable(descr, 20)}"`;
    throw new DataError(`${name} holds ${what}: save numbers (integers or floats), e.g. np.save(f, np.asarray(x, dtype=float))`);
  }
  // '=' is the writer's native order; numpy writes '<' or '>' explicitly, and little-endian machines are the rule.
  return { kind: match[2] as NpyScalar['kind'], size, little: match[1] !== '>', descr };
}

function structuredFields(descr: PyValue[], name: string): { fields: NpyField[]; itemSize: number } {
  let offset = 0;
  const fields = descr.map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new DataError(`${name} has a structured dtype with nested or sub-array fields: save plain number fields, e.g. [('unit', '<i8'), ('time', '<f8')]`);
    }
    const type = scalarType(entry[1], `${name} (field "${printable(entry[0], 40)}")`);
    const field = { name: entry[0], type, offset };
    offset += type.size;
    return field;
  });
  if (fields.length === 0) throw new DataError(`${name} has a structured dtype without fields`);
  return { fields, itemSize: offset };
}

function shapeOf(value: PyValue | undefined, name: string): number[] {
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) {
    throw new DataError(`${name}: its header's shape is ${describeValue(value)}, not a tuple of sizes`);
  }
  return value as number[];
}

/** Reads the header at the start of `bytes`: where the data starts and the header's text. */
function readHeader(bytes: Uint8Array, name: string): { text: string; dataStart: number } {
  if (bytes.length < 10 || !NPY_MAGIC.every((byte, i) => bytes[i] === byte)) {
    throw new DataError(`${name} is not a NumPy .npy file (it does not start with \\x93NUMPY): save the array with np.save`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new DataError(`${name} is a .npy file of format version ${major}.${bytes[7]}, which is not read (versions 1 to 3 are)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new DataError(`${name} ends inside its header: the file is truncated`);
  const length = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  if (length > MAX_HEADER_BYTES || start + length > bytes.length) {
    throw new DataError(`${name}: its header claims ${length} bytes${start + length > bytes.length ? ', past the end of the file (it is truncated)' : ', too long for a .npy header'}`);
  }
  const raw = bytes.subarray(start, start + length);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(raw);
  return { text, dataStart: start + length };
}

/** A .npy array from its bytes, `name` naming it in messages. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  const { text, dataStart } = readHeader(bytes, name);
  const header = parsePythonLiteral(text, name);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new DataError(`${name}: its header is not a dict`);
  const shape = shapeOf(header.shape, name);
  if (typeof header.fortran_order !== 'boolean') throw new DataError(`${name}: its header's fortran_order is ${describeValue(header.fortran_order)}, not True or False`);
  const descr = header.descr;
  let array: Pick<NpyArray, 'type' | 'fields' | 'itemSize'>;
  if (typeof descr === 'string') {
    const type = scalarType(descr, name);
    array = { type, itemSize: type.size };
  } else if (Array.isArray(descr)) {
    array = structuredFields(descr, name);
  } else {
    throw new DataError(`${name}: its header's descr is ${describeValue(descr)}, not a dtype`);
  }
  const count = shape.reduce((product, size) => product * size, 1);
  const needed = count * array.itemSize;
  const available = bytes.length - dataStart;
  if (!(needed <= available)) {
    throw new DataError(`${name} holds ${available} bytes of data, but its shape (${shape.join(', ')}) of ${array.itemSize}-byte elements needs ${needed}: the file is truncated`);
  }
  const data = new DataView(bytes.buffer, bytes.byteOffset + dataStart, needed);
  return { name, shape, fortranOrder: header.fortran_order, count, data, ...array };
}

/** The number stored at byte `offset` of `view` as `type`; 64-bit integers beyond 2^53 come back rounded. */
export function readScalar(view: DataView, offset: number, type: NpyScalar): number {
  const { kind, size, little } = type;
  if (kind === 'f') return size === 8 ? view.getFloat64(offset, little) : size === 4 ? view.getFloat32(offset, little) : half(view.getUint16(offset, little));
  if (kind === 'b') return view.getUint8(offset) === 0 ? 0 : 1;
  if (size === 1) return kind === 'i' ? view.getInt8(offset) : view.getUint8(offset);
  if (size === 2) return kind === 'i' ? view.getInt16(offset, little) : view.getUint16(offset, little);
  if (size === 4) return kind === 'i' ? view.getInt32(offset, little) : view.getUint32(offset, little);
  return Number(kind === 'i' ? view.getBigInt64(offset, little) : view.getBigUint64(offset, little));
}

/** An IEEE half-precision value from its 16 bits. */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Every element (a plain array's) as float64 in C order. */
export function valuesOf(array: NpyArray): Float64Array {
  const { type } = array;
  if (!type) throw new DataError(`${array.name} is a structured array; its fields are read one by one`);
  const values = new Float64Array(array.count);
  if (!array.fortranOrder || array.shape.length < 2) {
    for (let i = 0; i < array.count; i++) values[i] = readScalar(array.data, i * array.itemSize, type);
    return values;
  }
  // Walk the stored (Fortran) order with a counter whose first axis runs fastest, and place each value at its C rank.
  const { shape } = array;
  const cStrides = shape.map((_, axis) => shape.slice(axis + 1).reduce((product, size) => product * size, 1));
  const indices = new Array<number>(shape.length).fill(0);
  let rank = 0;
  for (let stored = 0; stored < array.count; stored++) {
    values[rank] = readScalar(array.data, stored * array.itemSize, type);
    for (let axis = 0; axis < shape.length; axis++) {
      indices[axis]++;
      rank += cStrides[axis];
      if (indices[axis] < shape[axis]) break;
      rank -= indices[axis] * cStrides[axis];
      indices[axis] = 0;
    }
  }
  return values;
}

/** Column `column` of a 2-D plain array, or field `field` of a 1-D structured one, as float64. */
export function columnOf(array: NpyArray, pick: { column: number } | { field: NpyField }): Float64Array {
  if ('field' in pick) {
    const values = new Float64Array(array.count);
    for (let i = 0; i < array.count; i++) values[i] = readScalar(array.data, i * array.itemSize + pick.field.offset, pick.field.type);
    return values;
  }
  const [rows, columns] = array.shape;
  const values = new Float64Array(rows);
  // Element (r, c) of a 2-D array: at r * columns + c in C order, r + c * rows in Fortran order.
  const [step, first] = array.fortranOrder ? [1, pick.column * rows] : [columns, pick.column];
  for (let r = 0; r < rows; r++) values[r] = readScalar(array.data, (first + r * step) * array.itemSize, array.type!);
  return values;
}

/** "(2000, 2) float64": shape and dtype, for messages that list arrays. */
export function describeArray(array: NpyArray): string {
  const dtype = array.type ? array.type.descr : `[${array.fields!.map((field) => printable(field.name, 20)).join(', ')}]`;
  return `(${array.shape.join(', ')}${array.shape.length === 1 ? ',' : ''}) ${dtype}`;
}
