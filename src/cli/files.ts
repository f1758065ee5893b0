// Files the CLI writes: atomically, through a temporary file in the same folder and a rename, so that an interrupted
// or failed run never leaves a half-written file. A temporary file names its writer's process; the next write to the
// same path removes those whose process is gone (a writer killed by SIGKILL cannot clean up after itself). Also the
// CLI's usage error.
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The temporary files this process is writing now: removed if it has to exit at once (a second Ctrl-C). */
const active = new Set<string>();

const TEMPORARY = /^(.*)\.poglm-(\d+)\.tmp$/;

function temporaryPath(path: string): string {
  return `${path}.poglm-${process.pid}.tmp`;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporary files for `path` left by writers that no longer run. */
function removeStaleTemporaries(path: string): string[] {
  const folder = dirname(path) || '.';
  const name = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const match = TEMPORARY.exec(entry);
    if (!match || match[1] !== name || processAlive(Number(match[2]))) continue;
    rmSync(join(folder, entry), { force: true });
    removed.push(join(folder, entry));
  }
  return removed;
}

/** Removes the temporary files this process has open; for an exit that cannot wait for the writes to finish. */
export function removeActiveTemporaries(): void {
  for (const path of active) rmSync(path, { force: true });
  active.clear();
}

/** What writeAtomically writes: text or bytes, whole or as pieces written one after another. */
export type FileContent = string | Uint8Array | Iterable<string | Uint8Array>;

/**
 * Writes `content` (whole, or pieces written one after another so that a large file is never one string or
 * buffer) to `path` through a temporary file in the same folder and a rename.
 */
export function writeAtomically(path: string, content: FileContent): void {
  mkdirSync(dirname(path) || '.', { recursive: true });
  removeStaleTemporaries(path);
  const temporary = temporaryPath(path);
  active.add(temporary);
  try {
    const descriptor = openSync(temporary, 'w');
    try {
      const pieces = typeof content === 'string' || content instanceof Uint8Array ? [content] : content;
      // writeSync's two forms, one for text and one for bytes.
      for (const piece of pieces) {
        if (typeof piece === 'string') writeSync(descriptor, piece);
        else writeSync(descriptor, piece);
      }
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  } finally {
    active.delete(temporary);
  }
}

export function writeJson(path: string, value: unknown): void {
  writeAtomically(path, `${JSON.stringify(value)}\n`);
}
