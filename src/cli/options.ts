// Option parsing for the CLI: values are checked where they are read, and a bad one names its flag and the fix.
import { isMethod, isScheme, METHODS, SCHEMES, type Method, type Scheme } from '../model/types.js';
import { UsageError } from './files.js';

export function integer(flag: string, raw: string | undefined, options: { min?: number; max?: number } = {}): number {
  const min = options.min ?? 0;
  const value = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isInteger(value) || value < min || (options.max !== undefined && value > options.max)) {
    const range = options.max !== undefined ? `from ${min} to ${options.max}` : min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`;
    throw new UsageError(`${flag} must be ${range.startsWith('from') ? `an integer ${range}` : range}, got "${raw}"`);
  }
  return value;
}

export function positiveNumber(flag: string, raw: string | undefined): number {
  const value = Number(raw);
  if (raw === undefined || raw.trim() === '' || !(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(`${flag} must be a positive number, got "${raw}"`);
  }
  return value;
}

export function scheme(flag: string, raw: string): Scheme {
  const value = raw.toUpperCase();
  if (!isScheme(value)) throw new UsageError(`${flag} "${raw}" is not a scheme; use one of ${SCHEMES.join(', ')}`);
  return value;
}

export function method(flag: string, raw: string): Method {
  const value = raw.toLowerCase();
  if (!isMethod(value)) throw new UsageError(`${flag} "${raw}" is not a method; use one of ${METHODS.join(', ')}`);
  return value;
}

/** A list longer than this is a typo (0-999999999), not a grid anyone can run. */
const MAX_LIST = 100_000;

/** "0-9", "1,3,5", "2" or a mix: the integers listed, in order, without repeats. */
export function integerList(flag: string, raw: string, options: { min?: number; max?: number } = {}): number[] {
  const values: number[] = [];
  for (const part of raw.split(',').map((item) => item.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [integer(flag, range[1], options), integer(flag, range[2], options)];
      if (to < from) throw new UsageError(`${flag}: the range "${part}" runs backwards`);
      if (values.length + to - from + 1 > MAX_LIST) throw new UsageError(`${flag} "${raw}" lists more than ${MAX_LIST} values`);
      for (let value = from; value <= to; value++) values.push(value);
    } else {
      values.push(integer(flag, part, options));
    }
  }
  if (values.length === 0) throw new UsageError(`${flag} lists nothing`);
  return [...new Set(values)];
}

/** A comma-separated list of names, or "all". */
export function nameList<T extends string>(raw: string, all: readonly T[], check: (name: string) => T): T[] {
  if (raw.trim().toLowerCase() === 'all') return [...all];
  return [...new Set(raw.split(',').map((item) => check(item.trim())))];
}
