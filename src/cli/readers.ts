// The data files the commands read: JSON with messages that name the file, counts, ground truth, models.
//
// Each reader has a text-level twin (parse...Text) that takes the file's bytes or text, so that tests and fuzzing go
// through exactly the path the CLI does without writing files. Every problem with what a file holds is a DataError
// (a ModelFormatError for a model), one that names the flag, the file and the element, says what is expected, and
// never prints the file's content; a file that cannot be read at all is a UsageError. All are exit 2.
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { DataError, describeValue, finiteMatrixProblem, finiteVectorProblem, validateCounts, type CountShape } from '../model/data.js';
import { parseModel, type PoglmModelJson } from '../model/json.js';
import type { GenerativeParams } from '../model/types.js';
import { UsageError } from './files.js';

// ---------------------------------------------------------------------------------------------------------------
// JSON text

/** Bytes at the start of a file that binary detection looks at. */
const SNIFF_BYTES = 4096;

/** Binary formats people hand to a JSON reader, by their first bytes, with what to do instead. */
const BINARY_FORMATS: { magic: number[]; name: string; fix: string }[] = [
  { magic: [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], name: 'a NumPy .npy array', fix: "write it as JSON, e.g. json.dump(np.load('x.npy').tolist(), open('x.json', 'w'))" },
  { magic: [0x50, 0x4b, 0x03, 0x04], name: 'a zip archive (.npz, .xlsx, ...)', fix: 'extract the array and write it as JSON' },
  { magic: [0x4d, 0x41, 0x54, 0x4c, 0x41, 0x42], name: 'a MATLAB .mat file', fix: "write it as JSON, e.g. filewrite('x.json', jsonencode(x))" },
  { magic: [0x89, 0x48, 0x44, 0x46], name: 'an HDF5 file (.h5, MATLAB v7.3)', fix: 'read the dataset and write it as JSON' },
  { magic: [0x1f, 0x8b], name: 'a gzip-compressed file', fix: 'decompress it first (gunzip)' },
];

const hexByte = (byte: number): string => byte.toString(16).toUpperCase().padStart(2, '0');

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

/** Whether the start of the file holds control bytes that no JSON text (nor any text file) has. */
function hasBinaryBytes(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, SNIFF_BYTES);
  for (let i = 0; i < end; i++) {
    const byte = bytes[i];
    // Tab, newline, form feed and carriage return occur in text files; other C0 controls only in binary ones.
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) return true;
  }
  return false;
}

/** Refuses binary content before it is decoded, naming the format where its first bytes tell it. */
function checkNotBinary(bytes: Uint8Array, source: string): void {
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) {
    throw new DataError(`${source} is UTF-16 text: save it as UTF-8 (JSON files are read as UTF-8)`);
  }
  const format = BINARY_FORMATS.find(({ magic }) => startsWith(bytes, magic));
  if (!format && !hasBinaryBytes(bytes)) return;
  const shown = Array.from(bytes.subarray(0, 8), hexByte).join(' ');
  const what = format ? `; it looks like ${format.name}: ${format.fix}` : '';
  throw new DataError(`${source} is not a JSON file (it starts with bytes ${shown}${bytes.length > 8 ? ' ...' : ''}; binary formats are not read here)${what}`);
}

/** What a UTF-8 lead byte starts: [continuation bytes, smallest code point so encoded, its payload bits]; 0 when invalid. */
function utf8Lead(lead: number): [number, number, number] {
  if (lead >= 0xc2 && lead <= 0xdf) return [1, 0x80, lead & 0x1f];
  if (lead >= 0xe0 && lead <= 0xef) return [2, 0x800, lead & 0x0f];
  if (lead >= 0xf0 && lead <= 0xf4) return [3, 0x10000, lead & 0x07];
  return [0, 0, 0];
}

/** Offset of the first byte that is not part of well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF), or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    const [continuation, smallest, bits] = utf8Lead(lead);
    if (continuation === 0 || i + continuation >= bytes.length) return i;
    let code = bits;
    for (let k = 1; k <= continuation; k++) {
      const byte = bytes[i + k];
      if ((byte & 0xc0) !== 0x80) return i;
      code = (code << 6) | (byte & 0x3f);
    }
    if (code < smallest || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += continuation + 1;
  }
  return -1;
}

function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** The bytes as text: binary and non-UTF-8 content refused with a short message, a UTF-8 byte order mark dropped. */
function decodeUtf8(bytes: Uint8Array, source: string): string {
  checkNotBinary(bytes, source);
  const body = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? bytes.subarray(3) : bytes;
  if (!isUtf8(body)) {
    const offset = firstInvalidUtf8(body);
    const where = offset < 0 ? '' : ` (byte ${hexByte(body[offset])} at offset ${offset}, line ${lineOfByte(body, offset)})`;
    throw new DataError(`${source} is not UTF-8 text${where}: save it as UTF-8 JSON`);
  }
  try {
    return new TextDecoder('utf-8').decode(body);
  } catch (error) {
    // V8 strings hold at most about 2^29 characters.
    throw new DataError(`${source} is too large to read as one JSON text (${body.length} bytes): ${(error as Error).message}`);
  }
}

interface JsonSyntaxError {
  position: number;
  reason: string;
}

const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const JSON_ESCAPES = '"\\/bfnrtu';

/** One character for a message: printable ASCII as itself, anything else by its code point (never raw bytes). */
function describeCharacter(text: string, position: number): string {
  const code = text.codePointAt(position)!;
  return code >= 0x21 && code <= 0x7e ? `'${text[position]}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The position after the string literal that starts at `start` (a '"'), or what is wrong with it. */
function scanString(text: string, start: number): number | JsonSyntaxError {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20) return { position: i, reason: `a control character (${describeCharacter(text, i)}) inside a string: write it as an escape such as \\n` };
    if (code !== 0x5c) continue;
    const escape = text[i + 1];
    if (escape === undefined || !JSON_ESCAPES.includes(escape)) return { position: i, reason: 'an unknown escape in a string (JSON has \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)' };
    if (escape === 'u' && !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return { position: i, reason: 'a \\u escape without 4 hexadecimal digits' };
    i += escape === 'u' ? 5 : 1;
  }
  return { position: start, reason: 'a string that is never closed (a missing ")' };
}

type JsonExpectation = 'value' | 'firstValue' | 'key' | 'firstKey' | 'colon' | 'separator' | 'end';

/**
 * Where and why `text` is not JSON (undefined when it is). JSON.parse says so too, but in Node its message quotes the
 * text around the error and often gives no position; this scanner keeps a stack of open brackets instead of recursing,
 * so that it works at any depth.
 */
function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const closers: string[] = [];
  let expect: JsonExpectation = 'value';
  let i = 0;
  const afterValue = (): JsonExpectation => (closers.length > 0 ? 'separator' : 'end');
  for (;;) {
    while (i < text.length && JSON_WHITESPACE.has(text.charCodeAt(i))) i++;
    if (i >= text.length) {
      if (expect === 'end') return undefined;
      return { position: i, reason: closers.length > 0 ? `the text ends with ${closers.length === 1 ? 'a bracket' : `${closers.length} brackets`} still open` : 'the text ends where a value should be' };
    }
    const c = text[i];
    const found = describeCharacter(text, i);
    if (expect === 'end') return { position: i, reason: `${found} after the end of the JSON value (a file holds one value)` };
    if (expect === 'colon') {
      if (c !== ':') return { position: i, reason: `expected ':' after a property name, found ${found}` };
      i++;
      expect = 'value';
    } else if (expect === 'separator') {
      const closer = closers[closers.length - 1];
      if (c !== ',' && c !== closer) return { position: i, reason: `expected ',' or '${closer}', found ${found}` };
      i++;
      if (c === closer) closers.pop();
      expect = c === ',' ? (closer === '}' ? 'key' : 'value') : afterValue();
    } else if (expect === 'key' || expect === 'firstKey') {
      if (c === '}' && expect === 'firstKey') {
        i++;
        closers.pop();
        expect = afterValue();
        continue;
      }
      if (c !== '"') return { position: i, reason: `expected a double-quoted property name${expect === 'key' && c === '}' ? ' (a trailing comma?)' : ''}, found ${found}` };
      const end = scanString(text, i);
      if (typeof end !== 'number') return end;
      i = end;
      expect = 'colon';
    } else {
      const end = scanValueStart(text, i, expect === 'firstValue', closers);
      if (typeof end !== 'number') return end;
      const opened = c === '[' || c === '{';
      i = end;
      expect = opened ? (c === '[' ? 'firstValue' : 'firstKey') : afterValue();
    }
  }
}

/** Scans where a value is expected: opens a bracket, closes an empty array, or skips a scalar. */
function scanValueStart(text: string, i: number, mayClose: boolean, closers: string[]): number | JsonSyntaxError {
  const c = text[i];
  if (c === '[' || c === '{') {
    closers.push(c === '[' ? ']' : '}');
    return i + 1;
  }
  if (c === ']' && mayClose) {
    // An empty array: afterwards the enclosing container expects a separator, like after any value.
    closers.pop();
    return i + 1;
  }
  if (c === '"') return scanString(text, i);
  JSON_NUMBER.lastIndex = i;
  if ((c === '-' || (c >= '0' && c <= '9')) && JSON_NUMBER.test(text)) return JSON_NUMBER.lastIndex;
  const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
  if (literal) return i + literal.length;
  const hint = c === ']' ? ' (a trailing comma?)' : /[A-Za-z']/.test(c) ? ' (strings need double quotes; NaN and Infinity are not JSON)' : '';
  return { position: i, reason: `expected a value, found ${describeCharacter(text, i)}${hint}` };
}

function lineAndColumn(text: string, position: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${position - lineStart + 1}`;
}

/**
 * Parses JSON from a file's bytes (or text) for `source` ("--train file data.json"): binary, non-UTF-8, empty,
 * malformed and too deeply nested content each give a short DataError with the position, never the content.
 * `expected` says what the file should hold, for the message about nesting.
 */
export function parseJsonText(input: string | Uint8Array, source: string, expected = 'JSON'): unknown {
  let text = typeof input === 'string' ? input : decodeUtf8(input, source);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new DataError(`${source} is empty: it should hold ${expected}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof RangeError) {
      // Where JSON.parse recurses (other engines, other versions), deep nesting overflows its stack.
      throw new DataError(`${source} nests its arrays or objects too deeply to read: it should hold ${expected}`);
    }
    const problem = findJsonSyntaxError(text);
    if (!problem) throw new DataError(`${source} is not valid JSON`);
    throw new DataError(`${source} is not valid JSON: ${problem.reason} at ${lineAndColumn(text, problem.position)}`);
  }
}

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  ERR_FS_FILE_TOO_LARGE: 'the file is over 2 GiB, too large to read at once',
};

/** The file's bytes; a file that cannot be read is a usage error about the flag that named it. */
function readBytes(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code && READ_FAILURES[code] ? ` (${READ_FAILURES[code]})` : '';
    throw new UsageError(`cannot read ${what} file ${path}: ${code ?? String(error)}${why}`);
  }
}

/** Reads and parses a JSON file named by flag `what`; see parseJsonText for what is refused and how. */
export function readJson(path: string, what: string): unknown {
  return parseJsonText(readBytes(path, what), `${what} file ${path}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Spike counts

export interface CountsFile {
  /** Visible counts x[s][t][v]. */
  visible: number[][][];
  /** Hidden ground truth z[s][t][h], when the file carries it. */
  hidden?: number[][][];
  /** True generative parameters, when the file carries them. */
  truth?: GenerativeParams;
  /** For messages: "test.json (the test part of a synthetic dataset)". */
  description: string;
  /** How messages name each part ("--test synth.json: test.hidden"); default: from the description. */
  names?: { visible: string; hidden: string; truth: string };
}

const COUNTS_SHAPE = 'spike counts as a nested array [sequence][bin][neuron] (3 levels of arrays)';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function partNames(file: CountsFile): { visible: string; hidden: string; truth: string } {
  return file.names ?? { visible: file.description, hidden: `${file.description}: hidden`, truth: `${file.description}: truth` };
}

/**
 * Checks a ground-truth parameter set: {weight: N x N, bias: N} of finite numbers, where N is `neurons` when known,
 * else the length of the bias (at least `visible`).
 */
function checkTruthParams(name: string, value: unknown, fix: string, neurons?: number, visible = 1): GenerativeParams {
  if (!isObject(value)) throw new DataError(`${name} must be {"weight": [[...]], "bias": [...]}, but it is ${describeValue(value)}: ${fix}`);
  let N = neurons;
  if (N === undefined) {
    if (!Array.isArray(value.bias) || value.bias.length === 0) throw new DataError(`${name}.bias must be a non-empty array of finite numbers, but it is ${describeValue(value.bias)}: ${fix}`);
    N = value.bias.length;
    if (N < visible) throw new DataError(`${name}.bias has ${N} entries but the data has ${visible} visible neurons: ${fix}`);
  }
  const problem = finiteVectorProblem(`${name}.bias`, value.bias, N) ?? finiteMatrixProblem(`${name}.weight`, value.weight, N, N);
  if (problem) throw new DataError(`${problem.message}: ${fix}`);
  return value as unknown as GenerativeParams;
}

/** The hidden spikes of a file: the same sequences and bins as its visible counts, `neurons` columns when known. */
function checkHiddenCounts(
  name: string,
  hidden: unknown,
  visible: CountShape,
  visibleName: string,
  neurons?: { count: number; from: string },
): CountShape {
  return validateCounts(name, hidden, {
    sequences: visible.sequences,
    sequencesFrom: visibleName,
    bins: visible.bins,
    binsFrom: visibleName,
    neurons: neurons?.count,
    neuronsFrom: neurons?.from,
    role: 'hidden',
  });
}

/**
 * Checks the ground truth a counts file carries against its visible counts (hidden spikes of the same sequences and
 * bins, true parameters over the visible plus hidden neurons) and says whether it applies to a model with `hidden`
 * hidden neurons: false when there is none, or when it describes another number (which the CLI leaves out with a
 * note). Throws DataError, naming `flag`, when the file contradicts itself. Call it before any GPU work.
 */
export function checkGroundTruth(file: CountsFile, hidden: number, flag: string): boolean {
  const names = partNames(file);
  const fix = `give ${flag} ground truth that matches its visible counts, as \`poglm synth\` writes it, or a plain counts array`;
  const visible = validateCounts(names.visible, file.visible);
  let trueHidden: number | undefined;
  if (file.hidden !== undefined) {
    try {
      trueHidden = checkHiddenCounts(names.hidden, file.hidden, visible, names.visible).neurons;
    } catch (error) {
      throw error instanceof DataError ? new DataError(`${error.message}; ${fix}`) : error;
    }
  }
  if (file.truth !== undefined) {
    const truth = checkTruthParams(names.truth, file.truth, fix, trueHidden === undefined ? undefined : visible.neurons + trueHidden, visible.neurons);
    trueHidden ??= truth.bias.length - visible.neurons;
  }
  return trueHidden !== undefined && trueHidden === hidden;
}

/** A count a synth file declares ("visible": 3), checked when present. */
function declaredCount(bundle: Record<string, unknown>, field: 'visible' | 'hidden', where: string): number | undefined {
  const value = bundle[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (field === 'visible' ? 1 : 0)) {
    throw new DataError(`${where}: "${field}" is ${describeValue(value)}; a \`poglm synth\` dataset gives its ${field} neuron count as an integer`);
  }
  return value;
}

/** The hidden columns a synth part has: declared, or none when its first bin is empty (a dataset with H = 0). */
function hiddenColumns(declared: number | undefined, hidden: unknown): number | undefined {
  if (declared !== undefined) return declared;
  const first = Array.isArray(hidden) && Array.isArray(hidden[0]) ? (hidden[0] as unknown[])[0] : undefined;
  return Array.isArray(first) && first.length === 0 ? 0 : undefined;
}

function syntheticPart(bundle: Record<string, unknown>, path: string, part: 'train' | 'test', flag: string): CountsFile {
  const where = `${flag} ${path}`;
  const section = bundle[part];
  if (!isObject(section)) {
    throw new DataError(`${where} is a \`poglm synth\` dataset whose "${part}" part is ${describeValue(section)}, not {"visible", "hidden"}: write it again with poglm synth`);
  }
  const names = { visible: `${where}: ${part}.visible`, hidden: `${where}: ${part}.hidden`, truth: `${where}: truth.generative` };
  const declared = (field: 'visible' | 'hidden', count: number | undefined) => (count === undefined ? undefined : { count, from: `"${field}" in ${where}` });
  const visible = validateCounts(names.visible, section.visible, { ...neuronExpectation(declared('visible', declaredCount(bundle, 'visible', where))) });
  const file: CountsFile = { visible: section.visible as number[][][], description: `${where} (the ${part} part of a synthetic dataset)`, names };
  let hidden = hiddenColumns(declaredCount(bundle, 'hidden', where), section.hidden);
  if (section.hidden !== undefined) {
    hidden = checkHiddenCounts(names.hidden, section.hidden, visible, names.visible, declared('hidden', hidden)).neurons;
    // A dataset without hidden neurons carries empty bins: no hidden ground truth to compare with.
    if (hidden !== 0) file.hidden = section.hidden as number[][][];
  }
  if (bundle.truth !== undefined) {
    if (!isObject(bundle.truth)) throw new DataError(`${where}: "truth" must be {"generative": {"weight", "bias"}}, but it is ${describeValue(bundle.truth)}`);
    const fix = 'the true parameters cover the visible and hidden neurons (visible first), as `poglm synth` writes them';
    file.truth = checkTruthParams(names.truth, bundle.truth.generative, fix, hidden === undefined ? undefined : visible.neurons + hidden, visible.neurons);
  }
  return file;
}

function neuronExpectation(declared: { count: number; from: string } | undefined): { neurons?: number; neuronsFrom?: string } {
  return declared ? { neurons: declared.count, neuronsFrom: declared.from } : {};
}

function notCounts(where: string, json: unknown): DataError {
  const format = isObject(json) ? json.format : undefined;
  const hint = format === 'poglm-gpu.model' ? ' (this is a model JSON: give it to --model or --init)' : format !== undefined ? ` (its "format" is ${describeValue(format)})` : '';
  return new DataError(`${where} must hold ${COUNTS_SHAPE}, or a dataset written by \`poglm synth\`, but it holds ${describeValue(json)}${hint}`);
}

/**
 * Counts from a file's bytes or text: a nested array [sequence][time][neuron], or a synthetic dataset written by
 * `poglm synth`, from which `part` ("train" or "test") is taken with its hidden spikes and true parameters. Everything
 * is validated: the result's counts are non-negative integers in a rectangular shape, its ground truth fits them.
 */
export function parseCountsText(input: string | Uint8Array, path: string, part: 'train' | 'test', flag: string): CountsFile {
  const json = parseJsonText(input, `${flag} file ${path}`, COUNTS_SHAPE);
  const where = `${flag} ${path}`;
  if (Array.isArray(json)) {
    validateCounts(where, json);
    return { visible: json as number[][][], description: where };
  }
  if (isObject(json) && json.format === 'poglm-gpu.synthetic') return syntheticPart(json, path, part, flag);
  throw notCounts(where, json);
}

/** Reads a counts file named by `flag`; see parseCountsText. */
export function readCounts(path: string, part: 'train' | 'test', flag: string): CountsFile {
  return parseCountsText(readBytes(path, flag), path, part, flag);
}

// ---------------------------------------------------------------------------------------------------------------
// Ground-truth parameters and models

/**
 * Ground-truth parameters from a file's bytes or text: a `poglm synth` file, a model JSON, or {weight, bias}; weight
 * N x N and bias N of finite numbers, N = `neurons` when given.
 */
export function parseTruthText(input: string | Uint8Array, path: string, neurons?: number, flag = '--truth'): GenerativeParams {
  const json = parseJsonText(input, `${flag} file ${path}`, 'ground-truth parameters {"weight", "bias"}');
  const where = `${flag} ${path}`;
  const fix = 'give the true parameters of all neurons (visible first), as `poglm synth` writes them';
  if (isObject(json)) {
    if (json.truth !== undefined) {
      const generative = isObject(json.truth) ? json.truth.generative : undefined;
      return checkTruthParams(`${where}: truth.generative`, generative, fix, neurons);
    }
    if (json.generative !== undefined) return checkTruthParams(`${where}: generative`, json.generative, fix, neurons);
    if (json.weight !== undefined || json.bias !== undefined) return checkTruthParams(where, json, fix, neurons);
  }
  throw new DataError(`${where} must be a \`poglm synth\` file, a model JSON, or an object {"weight", "bias"}, but it holds ${describeValue(json)}`);
}

/** Ground-truth parameters from the file `--truth` names; see parseTruthText. */
export function readTruth(path: string, neurons?: number): GenerativeParams {
  return parseTruthText(readBytes(path, '--truth'), path, neurons);
}

/** A model from a file's bytes or text, as `flag` (--model, --init) names it: JSON errors are DataErrors, the rest ModelFormatErrors. */
export function parseModelText(input: string | Uint8Array, path: string, flag = '--model'): PoglmModelJson {
  return parseModel(parseJsonText(input, `${flag} file ${path}`, 'a model JSON object'), path);
}

/** Reads the model file `flag` names; see parseModelText. */
export function readModelFile(path: string, flag = '--model'): PoglmModelJson {
  return parseModelText(readBytes(path, flag), path, flag);
}
