// JSON text as the data files hold it: bytes refused when binary or not UTF-8, a byte order mark dropped, and every
// syntax error given with its line and column, never the file's content. Nothing here uses Node's APIs, so a page
// reads its files through the same checks as the CLI (src/cli/readers.ts reads the bytes from disk).
import { DataError } from '../model/data.js';

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
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (error) {
    // The decoder refuses bytes that are not UTF-8 without saying where: the scan finds the first.
    const offset = firstInvalidUtf8(body);
    if (offset >= 0) throw new DataError(`${source} is not UTF-8 text (byte ${hexByte(body[offset])} at offset ${offset}, line ${lineOfByte(body, offset)}): save it as UTF-8 JSON`);
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
