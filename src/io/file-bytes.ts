// Reading a spike file's bytes: its first bytes (to tell the format), or all of it for the formats that are parsed
// in memory (MATLAB v5, NumPy). A file that cannot be read, or is too large to read whole, is a DataError that names
// it and says what to do.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { DataError } from '../model/data.js';

/** Node reads at most 2 GiB into one buffer; a MATLAB v5 or NumPy file is parsed whole, so it must be smaller. */
export const MAX_WHOLE_FILE_BYTES = 2 ** 31 - 1;

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
};

function cannotRead(source: string, error: unknown): DataError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code && READ_FAILURES[code] ? ` (${READ_FAILURES[code]})` : '';
  return new DataError(`cannot read ${source}: ${code ?? String(error)}${why}`);
}

/** The file's size in bytes; a missing file or a folder is a DataError. */
export function fileSize(path: string, source: string): number {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    size = stat.size;
  } catch (error) {
    throw cannotRead(source, error);
  }
  return size;
}

/** Up to `count` bytes from the start of the file. */
export function readHead(path: string, source: string, count: number): Uint8Array {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch (error) {
    throw cannotRead(source, error);
  }
  try {
    const buffer = Buffer.alloc(count);
    const read = readSync(descriptor, buffer, 0, count, 0);
    return buffer.subarray(0, read);
  } catch (error) {
    throw cannotRead(source, error);
  } finally {
    closeSync(descriptor);
  }
}

/** The whole file, refused above MAX_WHOLE_FILE_BYTES with `fix` (how to make it smaller) in the message. */
export function readWholeFile(path: string, source: string, what: string, fix: string): Uint8Array {
  const size = fileSize(path, source);
  if (size > MAX_WHOLE_FILE_BYTES) {
    throw new DataError(`${source} is ${(size / 2 ** 30).toFixed(1)} GiB; ${what} files are read whole, up to 2 GiB: ${fix}`);
  }
  try {
    return readFileSync(path);
  } catch (error) {
    throw cannotRead(source, error);
  }
}
