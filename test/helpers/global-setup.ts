// Before any test file: embed shaders/*.wgsl into src/shaders/sources.generated.ts, and rebuild dist/ when it is
// older than src/ or shaders/, so that running vitest directly (not through `npm test`, which builds first) tests
// neither stale WGSL nor a stale build (the CLI tests run bin/poglm.js, which loads dist/).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Newest modification time of the files under `directory` whose names end in one of `suffixes`. */
function newest(directory: string, suffixes: string[]): number {
  let time = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) time = Math.max(time, newest(path, suffixes));
    else if (suffixes.some((suffix) => entry.name.endsWith(suffix))) time = Math.max(time, statSync(path).mtimeMs);
  }
  return time;
}

export default function setup(): void {
  execFileSync(process.execPath, [join(root, 'scripts', 'embed-shaders.mjs')], { stdio: 'inherit' });
  const built = join(root, 'dist', 'index.js');
  const sources = Math.max(newest(join(root, 'src'), ['.ts']), newest(join(root, 'shaders'), ['.wgsl']));
  if (!existsSync(built) || statSync(built).mtimeMs < sources) {
    console.log('global setup: dist/ is missing or older than src/: building it (tsc -p tsconfig.build.json)');
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
}
