// The data files the commands read, from disk: JSON with messages that name the file, counts, ground truth, models.
//
// Each reader has a text-level twin (parse...Text, in src/io/json-text.ts and src/io/data-text.ts, which use no Node
// APIs) that takes the file's bytes or text, so that tests, fuzzing and the live page go through exactly the path the
// CLI does without writing files. Every problem with what a file holds is a DataError (a ModelFormatError for a
// model), one that names the flag, the file and the element, says what is expected, and never prints the file's
// content; a file that cannot be read at all is a UsageError. All are exit 2.
import { readFileSync } from 'node:fs';
import type { PoglmModelJson } from '../model/json.js';
import type { GenerativeParams } from '../model/types.js';
import { parseJsonText } from '../io/json-text.js';
import { parseCountsText, parseModelText, parseTruthText, type CountsFile } from '../io/data-text.js';
import { UsageError } from './files.js';

export { parseJsonText } from '../io/json-text.js';
export { checkGroundTruth, parseCountsText, parseModelText, parseTruthText, type CountsFile } from '../io/data-text.js';

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

/** Reads a counts file named by `flag`; see parseCountsText. */
export function readCounts(path: string, part: 'train' | 'test', flag: string): CountsFile {
  return parseCountsText(readBytes(path, flag), path, part, flag);
}

/** Ground-truth parameters from the file `--truth` names; see parseTruthText. */
export function readTruth(path: string, neurons?: number): GenerativeParams {
  return parseTruthText(readBytes(path, '--truth'), path, neurons);
}

/** Reads the model file `flag` names; see parseModelText. */
export function readModelFile(path: string, flag = '--model'): PoglmModelJson {
  return parseModelText(readBytes(path, flag), path, flag);
}
