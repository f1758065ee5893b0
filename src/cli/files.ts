// Files the CLI writes: atomically, through a temporary file in the same folder and a rename, so that an interrupted
// or failed run never leaves a half-written file. Also the CLI's usage error.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Writes `text` to `path` through a temporary file in the same folder and a rename. */
export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path) || '.', { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

export function writeJson(path: string, value: unknown): void {
  writeAtomically(path, `${JSON.stringify(value)}\n`);
}

