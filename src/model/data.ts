// Spike-count data: validation with errors that name the exact element and the fix, and flattening to the
// [sequence][bin][neuron] f32 layout the GPU reads. Also how any value is named in a message (describeValue) and the
// check of a finite-number matrix that the model and ground-truth readers share.
//
// Every check here loops over a fixed number of levels and never recurses over its input, and no message stringifies
// a whole value: data read from a file can nest arbitrarily deep, or be an array of millions of entries.
import { logFactorialInteger } from './math.js';

export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export interface CountShape {
  sequences: number;
  bins: number;
  neurons: number;
}

/** The largest visible count per bin: the device stores counts two to a 32-bit word (engine/dataset.ts, packCounts). */
export const MAX_VISIBLE_COUNT = 0xffff;
/** The largest hidden count: hidden spikes go to the device as f32, exact for integers up to 2^24. */
export const MAX_HIDDEN_COUNT = 2 ** 24;

/** Characters of a string, or keys of an object, that a message shows before it cuts them off. */
const SHOWN_CHARACTERS = 40;
const SHOWN_KEYS = 4;

function quoted(text: string): string {
  return text.length > SHOWN_CHARACTERS ? `${JSON.stringify(text.slice(0, SHOWN_CHARACTERS))}... (${text.length} characters)` : JSON.stringify(text);
}

/**
 * A short name for any value, for messages: numbers as JavaScript prints them (Infinity, NaN, -0), strings quoted and
 * cut, arrays and objects by their size and keys, never by their content (which may be huge, deep, or an object
 * whose toString is not callable, as JSON {"toString": 0} gives).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (value === null || value === undefined || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length} ${value.length === 1 ? 'entry' : 'entries'}`;
  if (ArrayBuffer.isView(value)) return 'a typed array (give nested plain arrays)';
  const keys = Object.keys(value);
  if (keys.length === 0) return 'an empty object';
  const shown = keys.slice(0, SHOWN_KEYS).map(quoted).join(', ');
  return `an object with keys ${shown}${keys.length > SHOWN_KEYS ? `, ... (${keys.length} keys)` : ''}`;
}

/** What a JSON reader's Infinity means: a number beyond the float64 range in the file, which JSON.parse reads so. */
function infinityHint(value: unknown): string {
  return value === Infinity || value === -Infinity ? ' (a number beyond ±1.8e308 in a JSON file, such as 1e999, reads as Infinity)' : '';
}

export interface CountExpectations {
  /** Neurons every bin must have; 0 is allowed only when asked for (a dataset without hidden neurons). */
  neurons?: number;
  /** Where `neurons` comes from, for the message ('"hidden" in synth.json'); default: the model. */
  neuronsFrom?: string;
  /** Bins every sequence must have, and where that number comes from (for the message). */
  bins?: number;
  binsFrom?: string;
  /** Sequences the data must have (hidden spikes of visible sequences), and where that number comes from. */
  sequences?: number;
  sequencesFrom?: string;
  /** Visible counts are packed in 16 bits on the device; hidden ones are f32. Default 'visible'. */
  role?: 'visible' | 'hidden';
}

const SHAPE = '[sequence][bin][neuron]';

/** " (at sequence 2, bin 3, neuron 1, counting from 0)": the index name[2][3][1] in words, for readers of the message. */
function positionInWords(s: number, t: number, v?: number): string {
  return ` (at sequence ${s}, bin ${t}${v === undefined ? '' : `, neuron ${v}`}, counting from 0)`;
}

function checkCount(name: string, count: unknown, s: number, t: number, v: number, role: 'visible' | 'hidden'): void {
  const at = `${name}[${s}][${t}][${v}]`;
  const limit = role === 'hidden' ? MAX_HIDDEN_COUNT : MAX_VISIBLE_COUNT;
  if (Array.isArray(count)) {
    throw new DataError(
      `${at} is ${describeValue(count)}, not a count: spike counts nest 3 levels deep, ${SHAPE}, and this data nests deeper${positionInWords(s, t, v)}`,
    );
  }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new DataError(
      `${at} is ${describeValue(count)}${infinityHint(count)}: spike counts must be non-negative integers, ` +
        `at most ${limit} per bin${positionInWords(s, t, v)}`,
    );
  }
  if (count > limit) {
    throw new DataError(
      role === 'hidden'
        ? `${at} is ${count} hidden spikes in one bin; counts above 2^24 are not exact in f32: use narrower bins`
        : `${at} is ${count} spikes in one bin; counts are stored in 16 bits (at most ${MAX_VISIBLE_COUNT} per bin): use narrower bins`,
    );
  }
}

function notAnArray(name: string, value: unknown, what: string, level: number): DataError {
  // A level too shallow is most often one sequence given without its outer array.
  const hint = level > 0 && typeof value === 'number' ? `; a single sequence [bin][neuron] must still be wrapped in an outer array` : '';
  return new DataError(`${name} must be an array of ${what} (spike counts are ${SHAPE}, 3 levels of arrays), but it is ${describeValue(value)}${hint}`);
}

function checkSequenceLength(name: string, s: number, length: number, bins: number, expect: CountExpectations): void {
  if (length === bins) return;
  const from = expect.bins === undefined ? `${name}[0]` : (expect.binsFrom ?? 'the visible counts');
  const fix =
    expect.role === 'hidden' && expect.bins !== undefined
      ? 'hidden spikes must cover the same bins as the visible counts of their sequence'
      : 'all sequences must have the same length (cut or pad them to a common number of bins)';
  throw new DataError(`${name}[${s}] has ${length} time bins but ${from} has ${bins}: ${fix}`);
}

function checkBinWidth(name: string, s: number, t: number, width: number, neurons: number, expect: CountExpectations): void {
  if (width === neurons) return;
  if (expect.neurons === undefined) {
    throw new DataError(`${name}[${s}][${t}] has ${width} neurons but ${name}[0][0] has ${neurons}: every bin must list the same neurons${positionInWords(s, t)}`);
  }
  if (expect.neuronsFrom !== undefined) {
    throw new DataError(`${name}[${s}][${t}] has ${width} neurons but ${expect.neuronsFrom} is ${neurons}: every bin must list that many ${expect.role ?? 'visible'} neurons`);
  }
  throw new DataError(
    `${name}[${s}][${t}] has ${width} neurons but the model expects ${neurons} ${expect.role ?? 'visible'} neurons: check the data file matches the model`,
  );
}

/**
 * Checks that `data` is a nested array [sequence][bin][neuron] of non-negative integers, every sequence with the same
 * number of bins and every bin with `neurons` entries (when given). `name` is the field the user knows ("train",
 * "--test FILE.json", "counts"). Holes in sparse arrays count as missing values, not as skipped ones.
 */
export function validateCounts(name: string, data: unknown, expect: CountExpectations = {}): CountShape {
  if (!Array.isArray(data)) throw notAnArray(name, data, 'sequences', 0);
  if (data.length === 0) throw new DataError(`${name} holds no sequences; give at least one [time][neuron] array`);
  if (expect.sequences !== undefined && data.length !== expect.sequences) {
    throw new DataError(
      `${name} has ${data.length} sequences but ${expect.sequencesFrom ?? 'the visible counts'} has ${expect.sequences}: give the ${expect.role ?? 'visible'} spikes of the same sequences`,
    );
  }
  const role = expect.role ?? 'visible';
  let bins = expect.bins;
  let neurons = expect.neurons;
  for (let s = 0; s < data.length; s++) {
    const sequence: unknown = data[s];
    if (!Array.isArray(sequence)) throw notAnArray(`${name}[${s}]`, sequence, 'time bins', 1);
    if (sequence.length === 0) throw new DataError(`${name}[${s}] has no time bins`);
    bins ??= sequence.length;
    checkSequenceLength(name, s, sequence.length, bins, expect);
    for (let t = 0; t < sequence.length; t++) {
      const bin: unknown = sequence[t];
      if (!Array.isArray(bin)) throw notAnArray(`${name}[${s}][${t}]`, bin, 'per-neuron counts', 2);
      if (neurons === undefined) {
        if (bin.length === 0) throw new DataError(`${name}[0][0] has no neurons: every bin lists one count per neuron`);
        neurons = bin.length;
      }
      checkBinWidth(name, s, t, bin.length, neurons, expect);
      for (let v = 0; v < bin.length; v++) checkCount(name, bin[v], s, t, v, role);
    }
  }
  return { sequences: data.length, bins: bins!, neurons: neurons! };
}

/** Where a matrix of finite numbers is wrong: the message, and whether the problem is a non-finite entry. */
export interface MatrixProblem {
  message: string;
  /** A null (how JSON writes NaN and ±Infinity) or a non-finite number, as opposed to a wrong shape or type. */
  nonFinite: boolean;
}

function entryProblem(at: string, value: unknown): MatrixProblem | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return undefined;
  const nonFinite = value === null || typeof value === 'number';
  const why = value === null ? ' (JSON writes NaN and ±Infinity as null)' : infinityHint(value);
  return { message: `${at} is ${describeValue(value)}${why}: it must be a finite number`, nonFinite };
}

/** The first problem of `value` as a vector of `length` finite numbers, or undefined when it is one. */
export function finiteVectorProblem(name: string, value: unknown, length: number): MatrixProblem | undefined {
  if (!Array.isArray(value)) return { message: `${name} must be an array of ${length} finite numbers, but it is ${describeValue(value)}`, nonFinite: false };
  if (value.length !== length) return { message: `${name} has ${value.length} entries but must have ${length}`, nonFinite: false };
  for (let i = 0; i < length; i++) {
    const problem = entryProblem(`${name}[${i}]`, value[i]);
    if (problem) return problem;
  }
  return undefined;
}

/** The first problem of `value` as a `rows` x `columns` matrix (an array of rows) of finite numbers, or undefined. */
export function finiteMatrixProblem(name: string, value: unknown, rows: number, columns: number): MatrixProblem | undefined {
  const shape = `a ${rows} x ${columns} matrix (an array of ${rows} rows of ${columns} finite numbers)`;
  if (!Array.isArray(value)) return { message: `${name} must be ${shape}, but it is ${describeValue(value)}`, nonFinite: false };
  if (value.length !== rows) return { message: `${name} has ${value.length} rows but must be ${shape}`, nonFinite: false };
  for (let r = 0; r < rows; r++) {
    const problem = finiteVectorProblem(`${name}[${r}]`, value[r], columns);
    if (problem) return problem;
  }
  return undefined;
}

/** [sequence][bin][neuron] into one f32 array, after validation. */
export function flattenCounts(data: number[][][]): Float32Array {
  const shape = { sequences: data.length, bins: data[0].length, neurons: data[0][0].length };
  const flat = new Float32Array(shape.sequences * shape.bins * shape.neurons);
  let index = 0;
  for (const sequence of data) for (const bin of sequence) for (const count of bin) flat[index++] = count;
  return flat;
}

/** sum over the sequence of ln x!, per sequence, in float64: the constant part of the visible Poisson likelihood. */
export function sequenceLogFactorials(data: number[][][]): Float64Array {
  return Float64Array.from(data, (sequence) => {
    let total = 0;
    for (const bin of sequence) for (const count of bin) total += logFactorialInteger(count);
    return total;
  });
}
