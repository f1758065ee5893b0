// Whether a build is older than what it is built from: the newest modification time of the source files.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time (ms) of the files under `directory` whose names end in one of `suffixes`. */
export function newestModification(directory: string, suffixes: string[]): number {
  let time = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) time = Math.max(time, newestModification(path, suffixes));
    else if (suffixes.some((suffix) => entry.name.endsWith(suffix))) time = Math.max(time, statSync(path).mtimeMs);
  }
  return time;
}

/** Newest modification time of the library's TypeScript and WGSL sources under `root`. */
export function newestLibrarySource(root: string): number {
  return Math.max(newestModification(join(root, 'src'), ['.ts']), newestModification(join(root, 'shaders'), ['.wgsl']));
}
