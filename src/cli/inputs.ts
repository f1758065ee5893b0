// What a command takes, declared once: every flag with how it is read and checked, which flags name files it reads
// and which name files or folders it writes, and the checks that relate several flags. checkInputs runs all of them
// before the command does any work, so that a bad input costs nothing (no GPU session, no training lost to a bad
// --out): flags first, then the output paths (writable, not a folder where a file is wanted, not one of the inputs),
// then the input files, then the checks across flags. Every error names the flag, the value and the fix.
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './files.js';
import { integer, integerList, method, nameList, positiveNumber, scheme } from './options.js';
import { METHODS, SCHEMES, type Method, type Scheme } from '../model/types.js';
import { DEFAULT_BASIS_DECAY, DEFAULT_BASIS_LENGTH, exponentialBasis } from '../model/basis.js';
import { readCounts, readJson, readModelFile, type CountsFile } from './readers.js';
import type { PoglmModelJson } from '../model/json.js';

/** One flag of a command. */
export interface Input<T> {
  /** As the user types it: "--hidden". */
  flag: string;
  /**
   * Reads and checks the raw text; throws UsageError (or DataError for a file's content) naming the flag. `others`
   * holds the raw text of every flag, for an input whose meaning depends on another (a checkpoint and --resume).
   */
  read(raw: string | undefined, others: Record<string, string | undefined>): T;
  /** A path the command reads, or writes as a file or as a folder. */
  path?: 'read' | 'write' | 'writeFolder';
}

export type InputValues<S> = { [K in keyof S]: S[K] extends Input<infer T> ? T : never };

/** A check across flags, run after every flag has been read. */
export type Relation<V> = (values: V) => void;

/** The inputs of a command: its flags and the checks between them. */
export interface CommandInputs<S extends Record<string, Input<unknown>>> {
  flags: S;
  relations?: Relation<InputValues<S>>[];
}

const isOutput = (input: Input<unknown>): boolean => input.path === 'write' || input.path === 'writeFolder';

export function checkInputs<S extends Record<string, Input<unknown>>>(declared: CommandInputs<S>, raw: Record<string, unknown>): InputValues<S> {
  const entries = Object.entries(declared.flags) as [keyof S & string, Input<unknown>][];
  // Commander gives a flag's value as a string, `true` for a switch, and nothing (or false) when it is absent.
  const text = (key: string): string | undefined => (raw[key] === undefined || raw[key] === false ? undefined : String(raw[key]));
  const others = Object.fromEntries(entries.map(([key]) => [key, text(key)]));
  const outputs = entries.filter(([, input]) => isOutput(input)).map(([key, input]) => ({ flag: input.flag, path: text(key) }));
  const values = {} as Record<string, unknown>;
  // Flags that are not files first (cheap), then the written paths, then the files read (possibly large).
  const order = [...entries.filter(([, input]) => !input.path), ...entries.filter(([, input]) => isOutput(input)), ...entries.filter(([, input]) => input.path === 'read')];
  checkDistinctOutputs(outputs);
  for (const [key, input] of order) {
    const path = text(key);
    if (isOutput(input) && path !== undefined) checkWritable(input.flag, path, input.path === 'writeFolder');
    if (input.path === 'read') checkNotWritten(input.flag, path, outputs);
    values[key] = input.read(path, others);
  }
  for (const relation of declared.relations ?? []) relation(values as InputValues<S>);
  return values as InputValues<S>;
}

/** The path as the file system resolves it (links followed where the file exists). */
function canonical(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    return absolute;
  }
}

/**
 * A path the command will write: where it exists it must be a file (a folder for `folder`) that can be written; where
 * it does not, its nearest existing parent must be a folder that can be written.
 */
export function checkWritable(flag: string, path: string, folder: boolean): void {
  if (path.trim() === '') throw new UsageError(`${flag} is empty: give a ${folder ? 'folder' : 'file'} name`);
  if (existsSync(path)) {
    const isFolder = statSync(path).isDirectory();
    if (isFolder && !folder) throw new UsageError(`${flag} ${path} is a folder: give a file name, e.g. ${path.replace(/\/+$/, '')}/model.json`);
    if (!isFolder && folder) throw new UsageError(`${flag} ${path} is a file: give a folder (it is created if missing)`);
    if (!canWrite(path)) throw new UsageError(`${flag} ${path} cannot be written (permission denied): choose another ${folder ? 'folder' : 'file'}`);
    return;
  }
  let parent = dirname(resolve(path));
  while (!existsSync(parent)) parent = dirname(parent);
  if (!statSync(parent).isDirectory()) throw new UsageError(`${flag} ${path} lies under ${parent}, which is a file, not a folder: choose another path`);
  if (!canWrite(parent)) throw new UsageError(`${flag} ${path}: the folder ${parent} cannot be written (permission denied): choose another path`);
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** An input file must not also be an output: the command would overwrite the data it reads. */
function checkNotWritten(flag: string, path: string | undefined, outputs: { flag: string; path: string | undefined }[]): void {
  if (path === undefined) return;
  for (const output of outputs) {
    if (output.path !== undefined && canonical(output.path) === canonical(path)) {
      throw new UsageError(`${output.flag} ${output.path} is also the ${flag} file: writing it would overwrite the input; choose another ${output.flag}`);
    }
  }
}

function checkDistinctOutputs(outputs: { flag: string; path: string | undefined }[]): void {
  const named = outputs.filter((output): output is { flag: string; path: string } => output.path !== undefined);
  named.forEach((output, i) =>
    named.slice(i + 1).forEach((other) => {
      if (canonical(other.path) === canonical(output.path)) throw new UsageError(`${output.flag} and ${other.flag} both name ${output.path}: give them different paths`);
    }),
  );
}

// The kinds of flag the commands declare.

export const integerInput = (flag: string, options: { min?: number; max?: number } = {}): Input<number> => ({ flag, read: (raw) => integer(flag, raw, options) });
export const positiveInput = (flag: string): Input<number> => ({ flag, read: (raw) => positiveNumber(flag, raw) });
export const nonNegativeInput = (flag: string): Input<number> => ({
  flag,
  read: (raw) => {
    const value = Number(raw);
    if (raw === undefined || raw.trim() === '' || !(value >= 0) || !Number.isFinite(value)) throw new UsageError(`${flag} must be a non-negative number, got "${raw}"`);
    return value;
  },
});
export const schemeInput = (flag: string): Input<Scheme> => ({ flag, read: (raw) => scheme(flag, required(flag, raw)) });
export const methodInput = (flag: string): Input<Method> => ({ flag, read: (raw) => method(flag, required(flag, raw)) });
export const schemeListInput = (flag: string): Input<Scheme[]> => ({ flag, read: (raw) => nameList(required(flag, raw), SCHEMES, (name) => scheme(flag, name)) });
export const methodListInput = (flag: string): Input<Method[]> => ({ flag, read: (raw) => nameList(required(flag, raw), METHODS, (name) => method(flag, name)) });
export const integerListInput = (flag: string, options: { min?: number; max?: number } = {}): Input<number[]> => ({
  flag,
  read: (raw) => integerList(flag, required(flag, raw), options),
});
/** A number of epochs, or "auto" (train until held-out sequences stop improving). */
export const epochsInput = (flag: string): Input<number | 'auto'> => ({
  flag,
  read: (raw) => (raw?.trim().toLowerCase() === 'auto' ? 'auto' : integer(flag, raw, { min: 1 })),
});
export const flagInput = (flag: string): Input<boolean> => ({ flag, read: (raw) => raw !== undefined && raw !== 'false' });
/** A file the command reads, with the reader that parses and checks it. */
export const readInput = <T>(flag: string, reader: (path: string) => T): Input<T> => ({ flag, path: 'read', read: (raw) => reader(required(flag, raw)) });
export const outputFileInput = (flag: string): Input<string> => ({ flag, path: 'write', read: (raw) => required(flag, raw) });
export const outputFolderInput = (flag: string): Input<string> => ({ flag, path: 'writeFolder', read: (raw) => required(flag, raw) });

/** A counts file read and checked (readCounts checks the shape, every count, and the ground truth it carries). */
export function countsInput(flag: string, part: 'train' | 'test'): Input<CountsFile & { path: string }> {
  return readInput(flag, (path) => ({ ...readCounts(path, part, flag), path }));
}

/**
 * A checkpoint file: written as the job goes; with --resume (the flag `resume` of the same command) it must exist and
 * is read to continue from, and without it it must not exist, so that a forgotten --resume never overwrites one.
 */
export function checkpointInput(flag: string, how: string): Input<{ path: string; resume?: unknown } | undefined> {
  return {
    flag,
    path: 'write',
    read: (raw, others) => {
      const resume = others.resume !== undefined;
      if (raw === undefined) {
        if (resume) throw new UsageError(`--resume needs ${how}: the checkpoint to continue from`);
        return undefined;
      }
      const exists = existsSync(raw);
      if (resume && !exists) throw new UsageError(`--resume: the checkpoint ${raw} does not exist; run without --resume to start afresh`);
      if (!resume && exists) throw new UsageError(`${flag === '--out' ? `--out ${dirname(raw)} holds a checkpoint, ${raw}` : `${flag} ${raw} exists`}: add --resume to continue from it, or delete it (or choose another path) to start afresh`);
      return resume ? { path: raw, resume: readJson(raw, flag) } : { path: raw };
    },
  };
}

/** A model that poglm fit wrote: it has hidden neurons and the variational part that infers them. */
export function fittedModelInput(flag: string, what: string, glm = false): Input<{ path: string; model: PoglmModelJson }> {
  return readInput(flag, (path) => {
    const model = readModelFile(path, flag);
    // A GLM (hidden 0) is evaluated exactly; what needs q (a gradient) needs hidden neurons.
    if (glm && model.hidden === 0) return { path, model };
    if (model.hidden < 1 || !model.variational) throw new UsageError(`${flag} ${path} has no variational part (hidden = ${model.hidden}): ${what} a model that poglm fit wrote`);
    return { path, model };
  });
}

/** The same flag, undefined when not given. */
export function optional<T>(input: Input<T>): Input<T | undefined> {
  return { ...input, read: (raw, others) => (raw === undefined ? undefined : input.read(raw, others)) };
}

/**
 * The history basis flags every fitting command shares: an exponential decay over a window of bins. No defaults in
 * the parser, so that a command can tell whether they were given (a fit from --init keeps its model's basis).
 */
export const BASIS_FLAGS = {
  basisWindow: optional(integerInput('--basis-window', { min: 1 })),
  basisDecay: optional(nonNegativeInput('--basis-decay')),
  basisBinWidth: optional(positiveInput('--basis-bin-width')),
};

type BasisValues = { basisWindow?: number; basisDecay?: number; basisBinWidth?: number };

/** The basis those flags describe (src/model/basis.ts): psi[l-1] = exp(-decay l), normalised so bin width x sum = 1. */
export function basisOf(values: BasisValues): number[] {
  return exponentialBasis(values.basisWindow ?? DEFAULT_BASIS_LENGTH, values.basisDecay ?? DEFAULT_BASIS_DECAY, values.basisBinWidth ?? 1);
}

/** Whether any basis flag was given. */
export const basisGiven = (values: BasisValues): boolean =>
  values.basisWindow !== undefined || values.basisDecay !== undefined || values.basisBinWidth !== undefined;

function required(flag: string, raw: string | undefined): string {
  if (raw === undefined) throw new UsageError(`${flag} is required`);
  return raw;
}
