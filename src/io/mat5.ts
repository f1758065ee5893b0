// MATLAB Level 5 MAT-files (save -v6 and -v7, scipy.io.savemat), read from their bytes: the 128-byte header (either
// byte order), data elements in the long and the small (packed in 8 bytes) form, and miCOMPRESSED variables inflated
// with fflate's streaming zlib, whose output is bounded as it grows. Listing the variables inflates only the first
// bytes of each compressed one (its name and size); reading one inflates that one alone. Numeric arrays of every
// class and storage type come back as float64 in MATLAB's column-major order, cell arrays as their elements; other
// classes (struct, char, sparse, objects) are named but not read. Every length is checked against what remains, so a
// truncated or damaged file is a DataError naming the variable, never a RangeError.
import { Unzlib } from 'fflate';
import { DataError } from '../model/data.js';
import { printable } from './spike-data.js';

/** The most bytes one variable may inflate to (1 GiB: 134 million float64 spike times). */
export const MAX_VARIABLE_BYTES = 2 ** 30;
/** Bytes of a compressed variable inflated to read its name and size. */
const PEEK_BYTES = 4096;
/** Cells within cells deeper than this are no layout of spike times. */
const MAX_DEPTH = 4;

const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15 } as const;
const ELEMENT_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };
const CLASS_NAMES = ['', 'cell', 'struct', 'object', 'char', 'sparse', 'double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'function', 'opaque'];
const NUMERIC_CLASSES = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

export interface MatVariableInfo {
  name: string;
  /** MATLAB's class: "double", "cell", "struct", ... */
  className: string;
  dims: number[];
}

export type MatValue =
  | { kind: 'numeric'; className: string; dims: number[]; data: Float64Array }
  | { kind: 'cell'; dims: number[]; cells: MatValue[] }
  | { kind: 'other'; className: string; dims: number[] };

export const MAT5_TEXT = 'MATLAB 5.0 MAT-file';

/** A view of bytes with the file's byte order, and checks that every read stays inside. */
class Bytes {
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly little: boolean,
    readonly where: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw new DataError(`${this.where}: ${what} runs past the end of its data (the file is truncated or damaged)`);
    }
  }

  u32(offset: number): number {
    return this.view.getUint32(offset, this.little);
  }

  i32(offset: number): number {
    return this.view.getInt32(offset, this.little);
  }
}

interface Element {
  type: number;
  /** Where the data starts and how long it is. */
  start: number;
  length: number;
  /** Where the next element starts. */
  next: number;
}

/**
 * The data element at `offset`: the small form packs type, length and up to 4 bytes of data in 8 bytes. `whole`
 * false reads only the tag, for the start of a compressed variable inflated only as far as its header.
 */
function elementAt(data: Bytes, offset: number, what: string, whole = true): Element {
  data.need(offset, 8, what);
  const word = data.u32(offset);
  if (word >>> 16 !== 0) {
    const length = word >>> 16;
    if (length > 4) throw new DataError(`${data.where}: ${what} is a small element of ${length} bytes (at most 4): the file is damaged`);
    return { type: word & 0xffff, start: offset + 4, length, next: offset + 8 };
  }
  const length = data.u32(offset + 4);
  if (whole) data.need(offset + 8, length, what);
  // Compressed elements are written back to back; the others are padded to 8 bytes.
  const padded = word === MI.COMPRESSED ? length : Math.ceil(length / 8) * 8;
  return { type: word, start: offset + 8, length, next: Math.min(offset + 8 + padded, data.bytes.length) };
}

/** Inflates a zlib stream, stopping once `enough` bytes are out (a peek) or failing past `most`. */
function inflate(compressed: Uint8Array, enough: number, most: number, where: string): Uint8Array {
  const pieces: Uint8Array[] = [];
  let total = 0;
  const inflater = new Unzlib((chunk) => {
    pieces.push(chunk);
    total += chunk.length;
    if (total > most) throw new DataError(`${where} inflates to more than ${most} bytes, more than a variable of spike times is read at once: save the spike times in a file of their own`);
  });
  try {
    for (let offset = 0; offset < compressed.length && total < enough; offset += 1024) {
      const end = Math.min(offset + 1024, compressed.length);
      inflater.push(compressed.subarray(offset, end), end === compressed.length);
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`${where} cannot be inflated (${printable(String((error as Error)?.message ?? error), 60)}): the file is damaged`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** The flags, dimensions and name at the start of a matrix element's data. */
function matrixHeader(data: Bytes, start: number, end: number, where: string): { info: MatVariableInfo; complex: boolean; next: number } {
  const flags = elementAt(data, start, 'the array flags');
  if (flags.type !== MI.UINT32 || flags.length < 8) throw new DataError(`${where}: an array without its flags element: the file is damaged`);
  const word = data.u32(flags.start);
  const dimsElement = elementAt(data, flags.next, 'the dimensions');
  if (dimsElement.type !== MI.INT32 || dimsElement.length % 4 !== 0 || dimsElement.length < 8) throw new DataError(`${where}: an array without its dimensions: the file is damaged`);
  const dims = Array.from({ length: dimsElement.length / 4 }, (_, i) => data.i32(dimsElement.start + 4 * i));
  if (dims.some((size) => size < 0)) throw new DataError(`${where}: an array of negative size: the file is damaged`);
  const nameElement = elementAt(data, dimsElement.next, 'the array name');
  if (nameElement.type !== MI.INT8 && nameElement.type !== MI.UINT8) throw new DataError(`${where}: an array without its name: the file is damaged`);
  const name = new TextDecoder('latin1').decode(data.bytes.subarray(nameElement.start, nameElement.start + nameElement.length));
  if (nameElement.next > end) throw new DataError(`${where}: an array header longer than the array: the file is damaged`);
  return { info: { name, className: CLASS_NAMES[word & 0xff] ?? `class ${word & 0xff}`, dims }, complex: (word & 0x800) !== 0, next: nameElement.next };
}

/** Reads the numeric subelement at `offset` as float64: MATLAB stores a double array in any smaller type that holds it. */
function numbers(data: Bytes, offset: number, count: number, where: string): Float64Array {
  const element = elementAt(data, offset, 'the numbers');
  const size = ELEMENT_BYTES[element.type];
  if (size === undefined) throw new DataError(`${where} stores its numbers as data type ${element.type}, which is not a number type: the file is damaged`);
  if (element.length !== count * size) throw new DataError(`${where} has ${element.length / size} numbers, but its dimensions need ${count}: the file is damaged`);
  const values = new Float64Array(count);
  const { view, little } = data;
  const read: (at: number) => number = {
    [MI.INT8]: (at: number) => view.getInt8(at),
    [MI.UINT8]: (at: number) => view.getUint8(at),
    [MI.INT16]: (at: number) => view.getInt16(at, little),
    [MI.UINT16]: (at: number) => view.getUint16(at, little),
    [MI.INT32]: (at: number) => view.getInt32(at, little),
    [MI.UINT32]: (at: number) => view.getUint32(at, little),
    [MI.SINGLE]: (at: number) => view.getFloat32(at, little),
    [MI.DOUBLE]: (at: number) => view.getFloat64(at, little),
    [MI.INT64]: (at: number) => Number(view.getBigInt64(at, little)),
    [MI.UINT64]: (at: number) => Number(view.getBigUint64(at, little)),
  }[element.type]!;
  for (let i = 0; i < count; i++) values[i] = read(element.start + i * size);
  return values;
}

/** The value of the matrix element whose data is [start, end). */
function matrixValue(data: Bytes, start: number, end: number, where: string, depth: number): MatValue {
  if (end === start) return { kind: 'numeric', className: 'double', dims: [0, 0], data: new Float64Array(0) };
  const { info, complex, next } = matrixHeader(data, start, end, where);
  const count = info.dims.reduce((product, size) => product * size, 1);
  if (info.className === 'cell') {
    if (depth >= MAX_DEPTH) throw new DataError(`${where}: cells nest more than ${MAX_DEPTH} deep`);
    const cells: MatValue[] = [];
    let offset = next;
    for (let i = 0; i < count; i++) {
      const element = elementAt(data, offset, `cell ${i + 1}`);
      if (element.type !== MI.MATRIX) throw new DataError(`${where}: cell ${i + 1} is not an array: the file is damaged`);
      cells.push(matrixValue(data, element.start, element.start + element.length, `${where}, cell ${i + 1}`, depth + 1));
      offset = element.next;
    }
    return { kind: 'cell', dims: info.dims, cells };
  }
  if (!NUMERIC_CLASSES.has(info.className)) return { kind: 'other', className: info.className, dims: info.dims };
  if (complex) return { kind: 'other', className: `complex ${info.className}`, dims: info.dims };
  if (count === 0) return { kind: 'numeric', className: info.className, dims: info.dims, data: new Float64Array(0) };
  if (count * 8 > MAX_VARIABLE_BYTES) throw new DataError(`${where} has ${count} numbers, more than are read at once`);
  return { kind: 'numeric', className: info.className, dims: info.dims, data: numbers(data, next, count, where) };
}

/** The header's byte order and version, checked. */
function readHeader(bytes: Uint8Array, where: string): boolean {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(116, bytes.length)));
  if (bytes.length < 128 || !text.startsWith('MATLAB 5.0 MAT-file')) {
    const hint = text.startsWith('MATLAB 7.3') ? ' (a v7.3 file is HDF5: it is read as such when its header is intact)' : ' (a MATLAB v4 file, or not MATLAB at all): save it with save -v7 or -v7.3';
    throw new DataError(`${where} is not a MATLAB v5/v7 MAT-file${hint}`);
  }
  const marker = String.fromCharCode(bytes[126], bytes[127]);
  if (marker !== 'IM' && marker !== 'MI') throw new DataError(`${where}: its header has no byte-order mark (IM or MI): the file is damaged`);
  return marker === 'IM';
}

interface TopElement {
  info: MatVariableInfo;
  element: Element;
}

/** Each top-level variable with its element; compressed ones inflated only as far as their header. */
function topElements(bytes: Uint8Array, where: string): { data: Bytes; variables: TopElement[] } {
  const little = readHeader(bytes, where);
  const data = new Bytes(bytes, little, where);
  const variables: TopElement[] = [];
  for (let offset = 128; offset + 8 <= bytes.length; ) {
    const element = elementAt(data, offset, `the variable at byte ${offset}`);
    offset = element.next;
    if (element.type !== MI.MATRIX && element.type !== MI.COMPRESSED) continue;
    const body = element.type === MI.MATRIX ? data : innerMatrix(data, element, PEEK_BYTES, `${where}: the variable at byte ${element.start - 8}`);
    const inner = element.type === MI.MATRIX ? element : elementAt(body, 0, 'a compressed variable', false);
    if (inner.length === 0) continue;
    const { info } = matrixHeader(body, inner.start, inner.start + inner.length, `${where}: the variable at byte ${element.start - 8}`);
    variables.push({ info, element });
  }
  return { data, variables };
}

/** A compressed element's inflated bytes, as far as `enough`, holding one matrix element. */
function innerMatrix(data: Bytes, element: Element, enough: number, where: string): Bytes {
  const inflated = inflate(data.bytes.subarray(element.start, element.start + element.length), enough, MAX_VARIABLE_BYTES + 4096, where);
  const body = new Bytes(inflated, data.little, where);
  if (inflated.length < 8 || body.u32(0) !== MI.MATRIX) throw new DataError(`${where} inflates to something that is not an array: the file is damaged`);
  return body;
}

/** The variables of a v5 MAT-file: names, classes and dimensions, in the file's order. */
export function listMat5(bytes: Uint8Array, where: string): MatVariableInfo[] {
  return topElements(bytes, where).variables.map((variable) => variable.info);
}

/** One variable of a v5 MAT-file, read whole. */
export function readMat5Variable(bytes: Uint8Array, where: string, name: string): MatValue {
  const { data, variables } = topElements(bytes, where);
  const found = variables.find((variable) => variable.info.name === name);
  if (!found) throw new DataError(`${where} has no variable "${printable(name)}"`);
  const what = `${where}: variable ${printable(name)}`;
  if (found.element.type === MI.MATRIX) return matrixValue(data, found.element.start, found.element.start + found.element.length, what, 0);
  const body = innerMatrix(data, found.element, Infinity, what);
  const inner = elementAt(body, 0, 'the variable');
  return matrixValue(body, inner.start, inner.start + inner.length, what, 0);
}
